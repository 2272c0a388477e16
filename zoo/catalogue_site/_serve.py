"""``zoo catalogue serve``: the standard library's HTTP server on 127.0.0.1, serving one
built catalogue (and nothing else) for a look in the browser. Not a production server:
behind a real web server the same directory is served as plain files."""

from __future__ import annotations

import errno
import functools
import os
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from zoo.errors import ZooCatalogueError

HOST = "127.0.0.1"


class _Handler(SimpleHTTPRequestHandler):
    extensions_map = {  # the base class's own attribute, overridden per class
        **SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript; charset=utf-8",
        ".html": "text/html; charset=utf-8",
        ".css": "text/css; charset=utf-8",
        ".json": "application/json",
    }

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # the base class's name
        if os.environ.get("ZOO_CATALOGUE_LOG"):
            super().log_message(format, *args)


def _check(directory: Path) -> Path:
    from zoo.catalogue_site._build import MANIFEST, _read_manifest

    directory = directory.expanduser().absolute()
    if not directory.is_dir() or _read_manifest(directory) is None:
        raise ZooCatalogueError(
            f"{directory} is not a zoo catalogue (no {MANIFEST})",
            hint="build one first: zoo catalogue build DIR, then zoo catalogue serve DIR",
        )
    return directory


def make_server(directory: str | os.PathLike[str] = ".", port: int = 8000) -> ThreadingHTTPServer:
    """A server for the catalogue in ``directory`` on 127.0.0.1:``port`` (0: any free
    port; ``server.server_address`` says which). Call ``serve_forever()`` on it."""
    root = _check(Path(directory))
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ZooCatalogueError(f"port {port!r} is not a TCP port", hint="give 0-65535 (0: any free port)")
    try:
        return ThreadingHTTPServer((HOST, port), functools.partial(_Handler, directory=str(root)))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ZooCatalogueError(
                f"port {port} on {HOST} is in use", hint="choose another with --port, or --port 0 for any free one"
            ) from None
        raise ZooCatalogueError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}") from None


def serve_catalogue(directory: str | os.PathLike[str] = ".", port: int = 8000, *, announce=print) -> None:
    """Serve the catalogue until interrupted (Ctrl-C)."""
    server = make_server(directory, port)
    host, bound = str(server.server_address[0]), server.server_address[1]
    announce(f"serving {Path(directory).absolute()} at http://{host}:{bound}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
