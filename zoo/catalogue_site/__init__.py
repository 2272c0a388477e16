"""The browsable catalogue: the registry as a static web site (``zoo catalogue build``)
and a local server for it (``zoo catalogue serve``).

The site is plain files: HTML pages, one CSS file, vanilla JavaScript written for it and
the list's data as a script. It loads nothing from the network and works from
``file://`` as well as behind any web server. Importing this package is cheap; the
builder is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zoo._lazy import lazy_getattr

if TYPE_CHECKING:
    from zoo.catalogue_site._build import CatalogueReport, build_catalogue
    from zoo.catalogue_site._serve import make_server, serve_catalogue

_LAZY = {
    "CatalogueReport": "zoo.catalogue_site._build:CatalogueReport",
    "build_catalogue": "zoo.catalogue_site._build:build_catalogue",
    "make_server": "zoo.catalogue_site._serve:make_server",
    "serve_catalogue": "zoo.catalogue_site._serve:serve_catalogue",
}

__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["CatalogueReport", "build_catalogue", "make_server", "serve_catalogue"]
