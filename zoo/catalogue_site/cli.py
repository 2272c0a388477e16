"""``zoo catalogue build|serve``: the parser and handlers, wired into ``zoo/cli.py`` by
one call (:func:`add_commands`). Imports only argparse until a command runs."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

EXIT_OK = 0


def add_commands(add: Callable[..., argparse.ArgumentParser], open_reader: Callable[..., Any]) -> None:
    """Register ``zoo catalogue`` with the CLI's ``add(name, handler, help)``;
    ``open_reader(args, postgresql=True)`` opens the registry the CLI's options name
    (passed in, so that this module does not import the CLI back)."""
    p = add(
        "catalogue",
        cmd_catalogue,
        "the browsable catalogue: build a static web site from the registry, serve it on 127.0.0.1",
    )
    sub = p.add_subparsers(dest="catalogue_command", metavar="build|serve", required=True)
    b = sub.add_parser(
        "build",
        help="write the static site into DIR (a new or empty directory, or --force over an earlier catalogue)",
        description="Write the registry as a static site into DIR: a searchable, filterable list and a page "
        "per weights, dataset and plugin. It works from file:// and behind any web server; it loads nothing "
        "from the network.",
    )
    b.add_argument("directory", metavar="DIR")
    b.add_argument(
        "--force",
        action="store_true",
        help="replace an earlier zoo catalogue in DIR (never a directory holding other files)",
    )
    b.add_argument("--json", action="store_true", help="machine-readable report")
    b.add_argument("--no-sync", action="store_true", help="do not sync installed plugins first")
    s = sub.add_parser("serve", help="serve a built catalogue on http://127.0.0.1:PORT/")
    s.add_argument("directory", metavar="DIR", nargs="?", default=".", help="the catalogue (default: .)")
    s.add_argument("--port", type=int, default=8000, help="TCP port (default 8000; 0: any free port)")
    p.set_defaults(open_reader=open_reader)


def cmd_catalogue(args: argparse.Namespace) -> int:
    from zoo import render

    if args.catalogue_command == "serve":
        from zoo.catalogue_site import serve_catalogue

        console = render.console()
        serve_catalogue(args.directory, args.port, announce=lambda text: console.print(text, markup=False))
        return EXIT_OK
    from zoo.catalogue_site import build_catalogue

    registry = args.open_reader(args, postgresql=True)
    report = build_catalogue(args.directory, registry, force=args.force)
    if args.json:
        render.print_json(report.to_dict())
        return EXIT_OK
    from rich.markup import escape

    console = render.console()
    console.print(
        f"[bold]catalogue[/] {escape(report.directory)}: {report.weights} weights, {report.datasets} datasets, "
        f"{report.plugins} plugins; {report.files} files, {report.bytes / 1e6:.1f} MB in {report.seconds:.1f} s"
        + (" (replaced the earlier catalogue)" if report.replaced else "")
    )
    console.print(
        f"open {report.directory}/index.html, or: zoo catalogue serve {report.directory}",
        markup=False,
    )
    return EXIT_OK
