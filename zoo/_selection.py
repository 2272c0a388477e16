"""Which installed plugins load, and the fingerprint of that selection. Read from
package metadata only: no plugin and not pluggy is imported, so the CLI's fast read
path (:mod:`zoo.registry._lite`) can check that the registry is synced cheaply.
:mod:`zoo.plugins` re-exports all of it."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata as metadata
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.errors import ZooValidationError

ENTRY_POINT_GROUP = "zoo"
FINGERPRINT_SETTING = "plugins_fingerprint"


def _norm(name: str) -> str:
    # PEP 503 normalisation, so that ZOO_PLUGINS=zoo_acme matches distribution zoo-acme.
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class PluginSelection:
    """Which installed plugins load: ``allow`` (``None``: all), minus ``deny``; names
    match an entry point's name or its distribution's name."""

    allow: tuple[str, ...] | None = None
    deny: tuple[str, ...] = ()
    strict: bool = False

    @classmethod
    def resolve(
        cls,
        plugins: str | Sequence[str] | None = None,
        disable: Sequence[str] | None = None,
        strict: bool | None = None,
        env: Mapping[str, str] | None = None,
    ) -> PluginSelection:
        """Arguments win over the environment (``ZOO_PLUGINS``, ``ZOO_DISABLE_PLUGINS``,
        ``ZOO_STRICT_PLUGINS``). ``plugins="all"`` ignores ``ZOO_PLUGINS``;
        ``plugins="none"`` or ``()`` loads none."""
        env = os.environ if env is None else env
        if plugins is None:
            plugins = env.get("ZOO_PLUGINS", "").strip() or "all"
        allow = _parse_names(plugins, "ZOO_PLUGINS")
        if disable is None:
            disable = env.get("ZOO_DISABLE_PLUGINS", "")
        deny = _parse_names(disable, "ZOO_DISABLE_PLUGINS") or ()
        if strict is None:
            raw = env.get("ZOO_STRICT_PLUGINS", "").strip().lower()
            if raw not in ("", "0", "1", "true", "false", "yes", "no"):
                raise ZooValidationError(
                    "ZOO_STRICT_PLUGINS", f"{raw!r} is not a boolean", hint="set ZOO_STRICT_PLUGINS=1 (strict) or 0"
                )
            strict = raw in ("1", "true", "yes")
        return cls(allow=allow, deny=tuple(deny), strict=bool(strict))

    def skip_reason(self, name: str, distribution: str | None) -> str | None:
        keys = {_norm(name)} | ({_norm(distribution)} if distribution else set())
        if self.allow is not None and not keys & {_norm(a) for a in self.allow}:
            return "not in ZOO_PLUGINS" if self.allow else "ZOO_PLUGINS=none"
        if keys & {_norm(d) for d in self.deny}:
            return "in ZOO_DISABLE_PLUGINS"
        return None


def _parse_names(value: str | Sequence[str] | None, field: str) -> tuple[str, ...] | None:
    """``"a,b"`` or ``["a", "b"]`` -> names; ``"all"`` -> None (no restriction);
    ``"none"`` / empty sequence -> ()."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == "all":
            return None
        if text.lower() == "none":
            return ()
        items = [p.strip() for p in text.split(",") if p.strip()]
    else:
        items = [str(p).strip() for p in value]
    for item in items:
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", item):
            raise ZooValidationError(
                field, f"{item!r} is not a plugin name", hint="write comma-separated plugin names, e.g. 'acme,timm'"
            )
    return tuple(items)


def _selected_entry_points(selection: PluginSelection) -> tuple[list[Any], list[tuple[Any, str]]]:
    """Installed ``zoo`` entry points (metadata only, nothing imported), in a stable
    order: (selected, [(skipped, reason)])."""
    eps = sorted(
        metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: (ep.name, _dist_name(ep) or "", ep.value)
    )
    selected, skipped = [], []
    for ep in eps:
        reason = selection.skip_reason(ep.name, _dist_name(ep))
        if reason:
            skipped.append((ep, reason))
        else:
            selected.append(ep)
    return selected, skipped


def _dist_name(ep: Any) -> str | None:
    return _dist_fields(getattr(ep, "dist", None))[0]


def _dist_version(ep: Any) -> str | None:
    return _dist_fields(getattr(ep, "dist", None))[1]


def _dist_fields(dist: Any) -> tuple[str | None, str | None]:
    if dist is None:
        return None, None
    path = getattr(dist, "_path", None)
    if path is None:
        return dist.metadata["Name"], dist.version
    try:
        stamp = (Path(path) / "METADATA").stat().st_mtime_ns
    except OSError:
        stamp = None
    return _parsed_metadata(str(path), stamp)


@functools.lru_cache(maxsize=512)
def _parsed_metadata(path: str, stamp: int | None) -> tuple[str | None, str | None]:
    # Parsing METADATA (an email message) is most of what listing entry points costs and
    # is done several times per entry point; keyed by the dist-info folder and the file's
    # mtime, so an upgrade (a new folder) or a rewrite is read again.
    fields = metadata.PathDistribution(Path(path)).metadata
    return fields["Name"], fields["Version"]


def installed_fingerprint(selection: PluginSelection | None = None) -> str:
    """A digest of the selected ``zoo`` entry points and their distributions' versions,
    read from package metadata without importing any plugin: when it is unchanged, the
    registry already holds what the plugins declare."""
    import zoo

    selection = selection or PluginSelection.resolve()
    selected, _ = _selected_entry_points(selection)
    lines = [f"zoo=={zoo.__version__}"] + sorted(
        f"{ep.name}={ep.value} {_dist_name(ep)}=={_dist_version(ep)}" for ep in selected
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()
