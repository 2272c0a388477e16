"""The module the entry point names (``fsspec = "zoo_fsspec.plugin"``): records only.
Neither fsspec nor a storage library is imported here (the hook runs on every plugin
listing); :mod:`zoo_fsspec.store` is imported when an object is fetched or stored."""

from __future__ import annotations

import os

from zoo.hookspecs import hookimpl
from zoo.records import WeightStore

# Object-store protocols of fsspec and the package that provides each. A protocol whose
# package is missing is still declared, so that its URIs fail with "pip install PACKAGE".
PROTOCOLS: dict[str, str] = {
    "s3": "s3fs",
    "s3a": "s3fs",
    "gs": "gcsfs",
    "gcs": "gcsfs",
    "az": "adlfs",
    "abfs": "adlfs",
    "abfss": "adlfs",
    "oci": "ocifs",
    "oss": "ossfs",
    "webdav": "webdav4",
}
EXTRA_ENV = "ZOO_FSSPEC_PROTOCOLS"
"""More fsspec protocols to serve, comma-separated (e.g. a company's own fsspec
implementation, or ``memory`` in tests)."""

_NOT_CLAIMED = frozenset({"file", "local", "http", "https", "pkg", "hf"})  # built in, or another plugin's


def protocols() -> dict[str, str | None]:
    """protocol -> the package that provides it (``None``: fsspec itself or unknown)."""
    out: dict[str, str | None] = dict(PROTOCOLS)
    for name in os.environ.get(EXTRA_ENV, "").replace(";", ",").split(","):
        name = name.strip().lower()
        if name and name not in _NOT_CLAIMED and name not in out:
            out[name] = None
    return out


@hookimpl
def zoo_weight_stores():
    return [
        WeightStore(
            scheme=protocol,
            opener="zoo_fsspec.store:fetch",
            uploader="zoo_fsspec.store:open_uploader",
            description=f"{protocol}:// through fsspec" + (f" ({package})" if package else ""),
        )
        for protocol, package in protocols().items()
    ]
