"""The team's default store: where ``register_as`` and ``zoo.compress`` put new weights.

``ZOO_STORE`` (e.g. ``s3://bucket/prefix``), else the registry's audited setting
``store.default`` (``zoo store set URL``), names an object store that a plugin's
:class:`~zoo.records.WeightStore` can *receive* objects into (its ``uploader``). Without
one, new weights stay in the registering machine's cache (a ``file://`` source).

The order that keeps the registry honest: the file is saved into the local cache, the
store receives it (content-addressed by sha256, complete under its final key and
verified), and only then is the registry row written with the object's URI as its
source. A store that fails raises :class:`~zoo.errors.ZooStoreError` and nothing is
registered.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from zoo.errors import ZooError, ZooStoreError
from zoo.weights._sources import BUILTIN_SCHEMES

STORE_ENV = "ZOO_STORE"
STORE_SETTING = "store.default"
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://([^/?#]*)(/[^?#]*)?$")


def split_store_url(url: str) -> tuple[str, str, str]:
    """``scheme://bucket/prefix`` -> (scheme, bucket, prefix without slashes at its ends).
    A typed error for anything else (no scheme, no bucket, a query or fragment)."""
    if not isinstance(url, str) or not url.strip():
        raise ZooStoreError(
            "the store URL is empty", hint="set ZOO_STORE=s3://BUCKET/PREFIX (or `zoo store set s3://BUCKET/PREFIX`)"
        )
    url = url.strip()
    m = _URL.match(url)
    if m is None:
        raise ZooStoreError(
            f"{url!r} is not a store URL",
            hint="write PROTOCOL://BUCKET/PREFIX, e.g. s3://team-models/zoo (no query string or fragment)",
        )
    scheme, bucket, prefix = m.group(1).lower(), m.group(2), (m.group(3) or "").strip("/")
    if scheme in BUILTIN_SCHEMES:
        raise ZooStoreError(
            f"{url!r}: {scheme}:// cannot be the default store; zoo writes new weights to object stores",
            hint="use an object store, e.g. s3://BUCKET/PREFIX (or unset ZOO_STORE to keep weights in the local cache)",
        )
    if not bucket:
        raise ZooStoreError(
            f"store URL {url!r} names no bucket",
            hint=f"write {scheme}://BUCKET/PREFIX, e.g. {scheme}://team-models/zoo",
        )
    if any(part in (".", "..") for part in prefix.split("/")) or "//" in prefix:
        raise ZooStoreError(f"store URL {url!r} has an empty, '.' or '..' path segment", hint="e.g. s3://bucket/zoo")
    return scheme, bucket, prefix


def configured_store(registry: Any = None) -> str | None:
    """The default store URL: ``$ZOO_STORE`` (``none`` turns a registry setting off for
    this process), else the registry's ``store.default`` setting, else ``None``."""
    value = os.environ.get(STORE_ENV, "").strip()
    if value:
        return None if value.lower() in ("none", "off", "local") else value
    if registry is not None:
        setting = registry.get_setting(STORE_SETTING)
        if setting and setting.strip():
            return setting.strip()
    return None


def open_uploader(url: str, host: Any) -> Any:
    """The uploader of the plugin store that serves ``url``'s scheme; checks the URL (and
    the store's own library) without touching the network."""
    scheme, _, _ = split_store_url(url)
    stores = host.weight_stores()
    store = stores.get(scheme)
    receiving = sorted(s for s, rec in stores.items() if rec.uploader)
    if store is None:
        raise ZooStoreError(
            f"unknown store protocol {scheme!r} in {url!r}: no installed plugin serves {scheme}://",
            hint=_protocol_hint(scheme, receiving),
        )
    if not store.uploader:
        raise ZooStoreError(
            f"the weight store for {scheme}:// can serve weights but not receive them, so it cannot be the default store",
            hint="stores that can receive weights: "
            + (", ".join(f"{s}://" for s in receiving) or "none installed")
            + " (pip install zoo-fsspec s3fs for s3://)",
        )
    factory = _resolve(store.uploader, scheme)
    try:
        return factory(url)
    except ZooError:
        raise
    except Exception as exc:  # noqa: BLE001 - the plugin's failure, reported as the store's
        raise ZooStoreError(
            f"the weight store for {scheme}:// cannot use {url!r}: {type(exc).__name__}: {exc}",
            hint="check the store URL and the store plugin's installation (`zoo plugins`)",
        ) from None


def check_default_store(registry: Any, host: Any) -> str | None:
    """Before training: the configured store (if any) is usable (protocol, bucket,
    library); returns its URL. Fails early rather than after a long run."""
    if registry is None and not os.environ.get(STORE_ENV, "").strip():
        from zoo.registry import Registry

        registry = Registry(sync=False)  # the default registry's setting, read once
        try:
            url = configured_store(registry)
        finally:
            registry.close()
    else:
        url = configured_store(registry)
    if url is not None:
        open_uploader(url, host)
    return url


def publish(path: Path, *, sha256: str, size: int, registry: Any, host: Any = None, progress: Any = None) -> str | None:
    """Put the cached file ``path`` into the default store; returns the object's URI, or
    ``None`` when no store is configured (the caller keeps the ``file://`` source)."""
    url = configured_store(registry)
    if url is None:
        return None
    if host is None:
        from zoo.plugins import default_host

        host = default_host()
    uploader = open_uploader(url, host)
    try:
        uri = uploader.put(Path(path), sha256=sha256, size=size, progress=progress)
    except ZooError:
        raise
    except Exception as exc:  # noqa: BLE001 - the uploader's failure, reported as the store's
        raise ZooStoreError(
            f"uploading {sha256[:12]}… to {url} failed: {type(exc).__name__}: {exc}",
            hint="nothing was registered; the weights are in the local cache, run the registration again",
        ) from None
    if not isinstance(uri, str) or "://" not in uri:
        raise ZooStoreError(f"the weight store for {url} returned {uri!r}, not the object's URI")
    return uri


def _resolve(target: str, scheme: str) -> Any:
    import importlib

    module_name, _, attr = target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for name in attr.split("."):
            obj = getattr(obj, name)
    except Exception as exc:  # noqa: BLE001 - any import failure is the plugin's
        raise ZooStoreError(
            f"the uploader {target!r} of the weight store for {scheme}:// cannot be imported: {type(exc).__name__}: {exc}",
            hint="reinstall the plugin that declares it (`zoo plugins` shows its errors)",
        ) from None
    return obj


def _protocol_hint(scheme: str, receiving: list[str]) -> str:
    """Name the package that provides ``scheme`` when fsspec knows it."""
    known = ", ".join(f"{s}://" for s in receiving) or "none (pip install zoo-fsspec s3fs for s3://)"
    try:
        from fsspec.registry import known_implementations
    except ImportError:  # fsspec absent: the plugin that brings it is the answer
        return f"install the zoo-fsspec plugin (pip install zoo-fsspec) and the library for {scheme}://; " + (
            f"stores that can receive weights now: {known}"
        )
    impl = known_implementations.get(scheme)
    if impl is not None:
        package = impl["class"].split(".", 1)[0]
        return (
            f"{scheme}:// is provided by the package {package} ({impl.get('err') or 'fsspec'}); "
            f"pip install zoo-fsspec {package}. Stores that can receive weights now: {known}"
        )
    return f"no package known to fsspec provides {scheme}://; stores that can receive weights now: {known}"


def set_default_store(registry: Any, url: str | None, *, host: Any = None, actor: str | None = None) -> bool:
    """Make ``url`` the registry's default store for everyone using it (``None`` or
    ``""``: none); checked first (protocol, bucket, the store's library), then written as
    the audited setting ``store.default``. ``ZOO_STORE`` still wins in a process that sets
    it. Returns whether the setting changed."""
    value = (url or "").strip()
    if value:
        if host is None:
            from zoo.plugins import default_host

            host = default_host()
        split_store_url(value)
        open_uploader(value, host)
    return registry.set_audited_setting(STORE_SETTING, value, actor=actor)


def store_state(registry: Any, host: Any) -> dict[str, Any]:
    """What ``zoo store`` shows: the default store, where it was configured, the plugin
    serving it, and the schemes whose stores can receive weights."""
    env = os.environ.get(STORE_ENV, "").strip()
    setting = (registry.get_setting(STORE_SETTING) or "").strip() if registry is not None else ""
    url = configured_store(registry)
    origin = STORE_ENV if env else ("registry setting store.default" if setting else None)
    stores = host.weight_stores()
    scheme = split_store_url(url)[0] if url else None
    return {
        "store": url,
        "origin": origin,
        "registry_setting": setting or None,
        "plugin": host.owner("weight_stores", scheme) if scheme in stores else None,
        "receiving_schemes": sorted(s for s, rec in stores.items() if rec.uploader),
    }
