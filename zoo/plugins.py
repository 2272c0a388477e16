"""The plugin host: loads the ``zoo`` entry points one by one, isolates their failures,
refuses name collisions, and calls the hooks of :mod:`zoo.hookspecs`.

A :class:`PluginHost` is built explicitly (``PluginHost()``) or shared through
:func:`default_host`; there is no module-level registry. Loading a plugin imports its
entry-point module and calls its declaration hooks (families, weights, key adapters,
recipes, stores) once, inside a guard: an import error, a hook that raises or a
malformed record marks that plugin failed (``zoo plugins`` shows why) and the others
still load. Nothing here imports torch or a model library; that happens in
:meth:`PluginHost.build`, when a family is built.

Environment: ``ZOO_PLUGINS`` (allow-list, ``none`` loads none), ``ZOO_DISABLE_PLUGINS``
(deny-list), ``ZOO_STRICT_PLUGINS=1`` (any plugin failure raises ``ZooPluginError``).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib.metadata as metadata
import logging
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pluggy

from zoo import hookspecs
from zoo._import_string import import_object
from zoo._lazy import lazy_getattr
from zoo._selection import (  # noqa: F401  (re-exported: part of this module's surface)
    ENTRY_POINT_GROUP,
    FINGERPRINT_SETTING,
    PluginSelection,
    _dist_name,
    _dist_version,
    _norm,
    _selected_entry_points,
    installed_fingerprint,
)
from zoo.errors import ZooError, ZooNotFoundError, ZooPluginError, ZooPolicyError, ZooValidationError
from zoo.limits import check_num_classes, check_purpose
from zoo.records import (
    BUILTIN_SCHEMES,  # re-exported: zoo.plugins.BUILTIN_SCHEMES
    AuditEvent,
    Compressor,
    Dataset,
    Family,
    KeyAdapter,
    PolicyDecision,
    Recipe,
    TransferMethod,
    Weights,
    WeightStore,
)

if TYPE_CHECKING:  # pragma: no cover
    from zoo.records import WeightsInfo
    from zoo.registry._sync import ensure_synced, sync_registry  # lazy, below

__all__ = [
    "BUILTIN_SCHEMES",
    "ENTRY_POINT_GROUP",
    "HEAVY_MODULES",
    "PluginFailure",
    "PluginHost",
    "PluginInfo",
    "PluginSelection",
    "default_host",
    "first_party_host",
    "ensure_synced",
    "import_object",
    "installed_fingerprint",
    "plugins_report",
    "runtime_host",
    "sync_registry",
]

CORE_PLUGIN = "zoo"  # the core's default hookimpls (zoo._builtin) register under this name
HEAVY_MODULES = ("torch", "torchvision", "timm", "transformers")
# The distributions whose records make up the built-in catalogue (registry.db.sql).
FIRST_PARTY = ("zoo-torchvision", "zoo-timm", "zoo-transformers", "zoo-recipes", "zoo-compress", "zoo-transfer")

_log = logging.getLogger("zoo.plugins")

HOOK_NAMES = tuple(sorted(n for n in dir(hookspecs) if n.startswith("zoo_") and callable(getattr(hookspecs, n))))


@dataclass(frozen=True)
class _Declaration:
    hook: str
    record_type: type
    attr: str  # PluginInfo field that holds the records
    kind: str  # how errors name one record
    key: Callable[[Any], str]


_DECLARATIONS = (
    _Declaration("zoo_families", Family, "families", "family", lambda r: r.name),
    _Declaration("zoo_weights", Weights, "weights", "weights", lambda r: r.ref),
    _Declaration("zoo_key_adapters", KeyAdapter, "key_adapters", "key adapter", lambda r: r.name),
    _Declaration("zoo_recipes", Recipe, "recipes", "recipe", lambda r: r.name),
    _Declaration("zoo_compressors", Compressor, "compressors", "compression method", lambda r: r.name),
    _Declaration("zoo_transfer_methods", TransferMethod, "transfer_methods", "transfer method", lambda r: r.name),
    _Declaration("zoo_weight_stores", WeightStore, "weight_stores", "URI scheme", lambda r: r.scheme),
    _Declaration("zoo_datasets", Dataset, "datasets", "dataset", lambda r: r.name),
)
# firstresult hooks are called implementation by implementation, so that a failure names
# its plugin; a wrapper could not be honoured there and is refused at registration.
_FIRSTRESULT_HOOKS = ("zoo_build", "zoo_adapt_head", "zoo_preprocessor")


# -- records ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PluginFailure:
    """Why a plugin (or one of its records) was not loaded.

    ``stage`` is one of ``select`` (the allow-list names a plugin that is not
    installed), ``import``, ``register`` (pluggy refused it, or it implements an unknown
    hook), ``hook`` (a declaration hook raised), ``record`` (a malformed record) or
    ``conflict`` (a name another plugin already claimed; only that record is dropped).
    """

    plugin: str
    stage: str
    message: str

    def __str__(self) -> str:
        return f"plugin {self.plugin!r} ({self.stage}): {self.message}"


@dataclass(frozen=True)
class PluginInfo:
    """One plugin as the host sees it: where it comes from, what it implements and
    declares, and what went wrong. ``loaded`` is False when the plugin failed as a
    whole (it is then not registered with pluggy: none of its hooks run)."""

    name: str
    distribution: str | None
    version: str | None
    value: str | None = None  # the entry point's target, e.g. "zoo_acme.plugin"
    core: bool = False
    loaded: bool = False
    disabled: str | None = None  # why it was skipped (allow- or deny-list)
    hooks: tuple[str, ...] = ()
    families: tuple[Family, ...] = ()
    weights: tuple[Weights, ...] = ()
    key_adapters: tuple[KeyAdapter, ...] = ()
    recipes: tuple[Recipe, ...] = ()
    weight_stores: tuple[WeightStore, ...] = ()
    datasets: tuple[Dataset, ...] = ()
    compressors: tuple[Compressor, ...] = ()
    transfer_methods: tuple[TransferMethod, ...] = ()
    errors: tuple[PluginFailure, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        if self.disabled:
            return "disabled"
        if not self.loaded:
            return "failed"
        return "errors" if self.errors else "ok"

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}" if self.version else self.name


# -- helpers shared with the core's default hooks and zoo.testing ------------------------


# -- the host --------------------------------------------------------------------------


class PluginHost:
    """A pluggy plugin manager with the zoo contract, loaded with the installed plugins.

    ``plugins`` / ``disable`` / ``strict`` override ``ZOO_PLUGINS`` /
    ``ZOO_DISABLE_PLUGINS`` / ``ZOO_STRICT_PLUGINS``; ``plugins="none"`` (or ``()``)
    loads no installed plugin (the core's defaults are always there). In strict mode any
    plugin failure raises :class:`ZooPluginError` once all plugins were tried.
    """

    def __init__(
        self,
        *,
        plugins: str | Sequence[str] | None = None,
        disable: Sequence[str] | None = None,
        strict: bool | None = None,
        env: Mapping[str, str] | None = None,
        records: bool = True,
    ) -> None:
        self.selection = PluginSelection.resolve(plugins, disable, strict, env)
        # records=False: the families and weights hooks are not called (a synced registry
        # already holds them), so that zoo.get imports no plugin's catalogue.
        self.records = records
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self._infos: list[PluginInfo] = []
        self._objects: dict[str, object] = {}
        self._owners: dict[str, dict[str, str]] = {d.attr: {} for d in _DECLARATIONS}
        # Loaded plugins as they declared themselves, before names were settled (_settle).
        self._base: dict[str, PluginInfo] = {}
        # Who owns which family / weights name in the registry (use_registry_owners).
        self._registry_owners: dict[str, dict[str, str | None]] = {}
        self._host_failures: list[PluginFailure] = []
        self._observer_failures: list[PluginFailure] = []
        from zoo import _builtin

        self._add(_builtin, CORE_PLUGIN, "zoo", _zoo_version(), "zoo._builtin", core=True)
        self._load_installed()
        if self.selection.strict:
            self.raise_for_failures()

    # -- loading ----------------------------------------------------------------------

    def _load_installed(self) -> None:
        selected, skipped = _selected_entry_points(self.selection)
        for ep, reason in skipped:
            self._infos.append(PluginInfo(ep.name, _dist_name(ep), _dist_version(ep), ep.value, disabled=reason))
        by_dist: dict[str, str] = {}
        by_name: dict[str, str] = {CORE_PLUGIN: "zoo"}
        for ep in selected:
            dist = _dist_name(ep)
            if ep.name in by_name:  # whether or not the first one loads: never a silent override
                self._fail(
                    ep,
                    "conflict",
                    f"plugin name {ep.name!r} is claimed by {by_name[ep.name]} and by {dist or ep.value}",
                )
                continue
            by_name[ep.name] = dist or ep.value
            if dist and _norm(dist) in by_dist:
                # One entry point per distribution keeps "which plugin said this" unambiguous.
                self._fail(
                    ep,
                    "register",
                    f"distribution {dist} declares a second entry point in group "
                    f"'zoo' ({by_dist[_norm(dist)]!r} is the first); declare one module that "
                    "carries all its hooks",
                )
                continue
            if dist:
                by_dist[_norm(dist)] = ep.name
            self._load_entry_point(ep)
        if self.selection.allow:
            present = {_norm(i.name) for i in self._infos} | {
                _norm(i.distribution) for i in self._infos if i.distribution
            }
            for name in self.selection.allow:
                if _norm(name) not in present:
                    failure = PluginFailure(
                        name,
                        "select",
                        f"ZOO_PLUGINS names {name!r}, which is not "
                        "installed (no entry point in group 'zoo' by that name)",
                    )
                    self._host_failures.append(failure)
                    _log.warning("%s", failure)
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:  # pragma: no cover - _add checks each plugin first
            name = self.pm.get_name(exc.plugin) or "?"
            self._drop(name, PluginFailure(name, "register", str(exc)))

    def _fail(self, ep: Any, stage: str, message: str) -> None:
        self._append(
            PluginInfo(
                ep.name, _dist_name(ep), _dist_version(ep), ep.value, errors=(PluginFailure(ep.name, stage, message),)
            )
        )

    def _load_entry_point(self, ep: Any) -> None:
        heavy_before = {m for m in HEAVY_MODULES if m in sys.modules}
        try:
            obj = ep.load()
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a plugin's import must not take the host down
            self._fail(ep, "import", f"cannot import {ep.value!r}: {type(exc).__name__}: {exc}")
            return
        info = self._add(obj, ep.name, _dist_name(ep), _dist_version(ep), ep.value)
        heavy = sorted(m for m in HEAVY_MODULES if m in sys.modules and m not in heavy_before)
        if heavy and info.loaded:
            self._replace(
                dataclasses.replace(
                    info,
                    warnings=info.warnings
                    + (
                        f"loading it imported {', '.join(heavy)}: import model libraries inside the builder "
                        "functions, so that listing plugins stays fast",
                    ),
                )
            )

    def register(
        self, plugin: object, name: str | None = None, *, version: str | None = None, distribution: str | None = None
    ) -> PluginInfo:
        """Register an in-process plugin object (a module or an instance with hookimpls)
        under the same guards as an installed one; see :mod:`zoo.testing`. In strict
        mode a failure raises."""
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__.lower()
        info = self._add(plugin, name, distribution, version, getattr(plugin, "__name__", None))
        if self.selection.strict and info.errors:
            raise _failures_error(info.errors)
        return info

    def unregister(self, name: str) -> None:
        """Remove a plugin and release the names it claimed."""
        if name == CORE_PLUGIN:
            raise ZooPluginError("the core's default hooks cannot be unregistered")
        obj = self._objects.pop(name, None)
        if obj is not None:
            self.pm.unregister(obj)
        self._base.pop(name, None)
        # Only the registered one: a rival's failure report under the same name stays.
        self._infos = [i for i in self._infos if not (i.name == name and i.loaded)]
        self._settle()  # names it contested go back to their other claimant

    def _add(
        self,
        obj: object,
        name: str,
        distribution: str | None,
        version: str | None,
        value: str | None,
        *,
        core: bool = False,
    ) -> PluginInfo:
        base = PluginInfo(name, distribution, version, value, core=core)
        if name in self._objects or any(i.name == name and i.loaded for i in self._infos):
            other = self.plugin(name)
            return self._append(
                dataclasses.replace(
                    base,
                    errors=(
                        PluginFailure(
                            name,
                            "conflict",
                            f"plugin name {name!r} is claimed by {other.distribution or other.name} "
                            f"and by {distribution or value or name}",
                        ),
                    ),
                )
            )
        if self.pm.is_registered(obj):
            other = self.pm.get_name(obj)
            return self._append(
                dataclasses.replace(
                    base,
                    errors=(PluginFailure(name, "register", f"this object is already registered as plugin {other!r}"),),
                )
            )
        problems = _unmarked_hooks(obj)
        if problems:
            return self._append(
                dataclasses.replace(base, errors=tuple(PluginFailure(name, "register", p) for p in problems))
            )
        try:
            self.pm.register(obj, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            return self._append(dataclasses.replace(base, errors=(PluginFailure(name, "register", str(exc)),)))
        problems = self._check_hooks(obj)
        if problems:
            self.pm.unregister(obj)
            return self._append(
                dataclasses.replace(base, errors=tuple(PluginFailure(name, "register", p) for p in problems))
            )
        hooks = tuple(sorted({c.name for c in self.pm.get_hookcallers(obj) or ()}))
        declared, errors = self._declarations(obj, name)
        if errors:  # the plugin fails as a whole: none of its hooks run
            self.pm.unregister(obj)
            return self._append(dataclasses.replace(base, hooks=hooks, errors=tuple(errors)))
        self._objects[name] = obj
        self._base[name] = dataclasses.replace(base, loaded=True, hooks=hooks, **declared)
        self._infos.append(self._base[name])
        self._settle()
        return self.plugin(name)

    def _append(self, info: PluginInfo) -> PluginInfo:
        self._infos.append(info)
        for error in info.errors:
            _log.warning("%s", error)
        return info

    def _replace(self, info: PluginInfo) -> None:
        self._base[info.name] = dataclasses.replace(self._base[info.name], warnings=info.warnings)
        self._settle()

    # -- who owns a name --------------------------------------------------------------

    def use_registry_owners(self, owners: Mapping[str, Mapping[str, str | None]]) -> None:
        """Settle contested names by the registry: ``owners`` maps ``families`` and
        ``weights`` to ``{name: owning plugin}`` (``None``: a user registration), as
        :meth:`zoo.registry.Registry.owners` returns. A name the registry holds belongs
        to its registered owner whatever else is installed; :func:`sync_registry` calls
        this before syncing."""
        self._registry_owners = {kind: dict(owners.get(kind, {})) for kind in ("families", "weights")}
        self._settle()

    def _settle(self) -> None:
        """Decide who owns each declared name, independently of load order: a name the
        registry holds is its registered owner's; a name one plugin claims is its own; a
        name two plugins claim (and the registry does not settle) is refused for all of
        them, each told the others' names; a built-in URI scheme is the core's."""
        loaded = [self._base[i.name] for i in self._infos if i.loaded and i.name in self._base]
        refused: dict[str, list[str]] = {i.name: [] for i in loaded}
        kept: dict[str, dict[str, set[str]]] = {i.name: {d.attr: set() for d in _DECLARATIONS} for i in loaded}
        owners: dict[str, dict[str, str]] = {d.attr: {} for d in _DECLARATIONS}
        # Families nobody may sync (contested, not in the registry), and families refused
        # to a plugin: its weights of them are withheld too (they would fail its sync, or
        # ride on another plugin's family it tried to take).
        unowned_families: set[str] = set()
        refused_families: dict[str, set[str]] = {i.name: set() for i in loaded}
        for decl in _DECLARATIONS:
            claims: dict[str, list[str]] = {}
            for info in loaded:
                for record in getattr(info, decl.attr):
                    claims.setdefault(decl.key(record), []).append(info.name)
            registered = self._registry_owners.get(decl.attr, {})
            for key, names in claims.items():
                if decl.attr == "weight_stores" and key in BUILTIN_SCHEMES:
                    for n in names:
                        refused[n].append(
                            f"URI scheme {key!r} is built in (served by {CORE_PLUGIN} itself); "
                            f"{n!r}'s declaration is ignored"
                        )
                    continue
                if key in registered:
                    owner = registered[key]
                    label = f"plugin {owner!r}" if owner else "a user registration"
                    for n in names:
                        if n == owner:
                            continue
                        if decl.attr == "families":
                            refused_families[n].add(key)
                        refused[n].append(
                            f"{decl.kind} {key!r} belongs to {label} in the registry; {n!r}'s declaration is "
                            "ignored"
                            + (
                                f" (`zoo plugins transfer {owner} {n}` hands {owner!r}'s records to "
                                f"{n!r} if {owner!r} is gone)"
                                if owner and owner not in names
                                else ""
                            )
                        )
                    if owner not in names:
                        continue
                    names = [owner]
                elif len(names) > 1:
                    for n in names:
                        others = ", ".join(repr(m) for m in names if m != n)
                        refused[n].append(
                            f"{decl.kind} {key!r} is claimed by plugin {n!r} and by plugin {others}: "
                            "refused for both until one is uninstalled or disabled "
                            "(ZOO_DISABLE_PLUGINS)"
                        )
                    if decl.attr == "families":
                        unowned_families.add(key)
                    continue
                owners[decl.attr][key] = names[0]
                kept[names[0]][decl.attr].add(key)
        for info in loaded:
            for w in info.weights:
                if w.ref in kept[info.name]["weights"] and (
                    w.arch in unowned_families or w.arch in refused_families[info.name]
                ):
                    kept[info.name]["weights"].discard(w.ref)
                    owners["weights"].pop(w.ref, None)
                    refused[info.name].append(
                        f"weights {w.ref!r} are withheld: their architecture {w.arch!r} is refused (see above)"
                    )
        self._owners = owners
        settled = {}
        for info in loaded:
            errors = tuple(PluginFailure(info.name, "conflict", m) for m in refused[info.name])
            previous = next((i for i in self._infos if i.name == info.name and i.loaded), None)
            for error in errors:
                if previous is None or error not in previous.errors:
                    _log.warning("%s", error)
            settled[info.name] = dataclasses.replace(
                info,
                errors=errors,
                **{
                    d.attr: tuple(r for r in getattr(info, d.attr) if d.key(r) in kept[info.name][d.attr])
                    for d in _DECLARATIONS
                },
            )
        self._infos = [settled.get(i.name, i) if i.loaded else i for i in self._infos]

    def _drop(self, name: str, failure: PluginFailure) -> None:  # pragma: no cover - see check_pending
        info = self.plugin(name)
        self.unregister(name)
        self._infos.append(dataclasses.replace(info, loaded=False, errors=info.errors + (failure,)))

    def _check_hooks(self, obj: object) -> list[str]:
        problems = []
        for caller in self.pm.get_hookcallers(obj) or ():
            impls = [i for i in caller.get_hookimpls() if i.plugin is obj]
            if not caller.has_spec():
                if not all(i.opts.get("optionalhook") for i in impls):
                    close = difflib.get_close_matches(caller.name, HOOK_NAMES, 1)
                    problems.append(
                        f"implements unknown hook {caller.name!r}"
                        + (f" (did you mean {close[0]!r}?)" if close else "")
                        + "; the hooks are listed in docs/plugins.md"
                    )
            elif caller.name in _FIRSTRESULT_HOOKS and any(i.hookwrapper or i.wrapper for i in impls):
                problems.append(f"{caller.name} cannot be implemented as a wrapper; return a result or None instead")
        return problems

    def _declarations(self, obj: object, name: str) -> tuple[dict[str, tuple], list[PluginFailure]]:
        declared: dict[str, tuple] = {}
        errors: list[PluginFailure] = []
        for decl in _DECLARATIONS:
            records: list[Any] = []
            if not self.records and decl.record_type in (Family, Weights):
                declared[decl.attr] = ()
                continue
            for impl in getattr(self.pm.hook, decl.hook).get_hookimpls():
                if impl.plugin is not obj or impl.hookwrapper or impl.wrapper:
                    continue
                try:
                    result = impl.function()
                    if result is None:
                        continue
                    if isinstance(result, (str, bytes, Mapping)) or not isinstance(result, Iterable):
                        raise _Malformed(
                            f"{decl.hook} must return a sequence of "
                            f"zoo.records.{decl.record_type.__name__}, not {type(result).__name__}"
                        )
                    result = list(result)
                except _Malformed as exc:
                    errors.append(PluginFailure(name, "record", str(exc)))
                    continue
                except (Exception, SystemExit) as exc:  # noqa: BLE001 - a plugin's hook must not take the host down
                    errors.append(PluginFailure(name, "hook", f"{decl.hook} raised {type(exc).__name__}: {exc}"))
                    continue
                for index, record in enumerate(result):
                    if type(record) is not decl.record_type:
                        errors.append(
                            PluginFailure(
                                name,
                                "record",
                                (
                                    f"{decl.hook} item {index} is a {type(record).__name__}, not a "
                                    f"zoo.records.{decl.record_type.__name__}"
                                ),
                            )
                        )
                        continue
                    try:  # re-run validation: a record is frozen but object.__setattr__ exists
                        dataclasses.replace(record)
                    except ZooError as exc:
                        errors.append(PluginFailure(name, "record", f"{decl.hook} item {index}: {exc.message}"))
                        continue
                    if decl.record_type is Weights and record.tag is None:
                        errors.append(
                            PluginFailure(
                                name,
                                "record",
                                (
                                    f"{decl.hook} item {index} ({record.ref!r}) is a registered model; plugins "
                                    "declare catalogue weights named arch.tag"
                                ),
                            )
                        )
                        continue
                    records.append(record)
            keys = [decl.key(r) for r in records]
            for key in sorted({k for k in keys if keys.count(k) > 1}):
                errors.append(PluginFailure(name, "record", f"{decl.kind} {key!r} is declared twice"))
            declared[decl.attr] = tuple(records)
        return declared, errors

    def raise_for_failures(self) -> None:
        """Raise ``ZooPluginError`` naming every failure (what strict mode does)."""
        if self.failures:
            raise _failures_error(self.failures)

    # -- what was loaded --------------------------------------------------------------

    @property
    def plugins(self) -> tuple[PluginInfo, ...]:
        """Every plugin considered: the core, loaded, failed and disabled ones."""
        return tuple(self._infos)

    @property
    def failures(self) -> tuple[PluginFailure, ...]:
        return tuple(self._host_failures) + tuple(e for i in self._infos for e in i.errors)

    @property
    def observer_failures(self) -> tuple[PluginFailure, ...]:
        """Audit observers that raised (reported and ignored)."""
        return tuple(self._observer_failures)

    def plugin(self, name: str) -> PluginInfo:
        """The loaded plugin named ``name`` (else the failed or disabled one)."""
        matches = [i for i in self._infos if i.name == name]
        if not matches:
            raise ZooNotFoundError(
                "plugin",
                name,
                difflib.get_close_matches(name, [i.name for i in self._infos]),
                hint="`zoo plugins` lists the installed plugins",
            )
        return next((i for i in matches if i.loaded), matches[0])

    def plugin_versions(self) -> list[tuple[str, str | None]]:
        """``(name, version)`` of the loaded plugins (not the core), by name."""
        return sorted((i.name, i.version) for i in self._loaded() if not i.core)

    def _loaded(self) -> list[PluginInfo]:
        return [i for i in self._infos if i.loaded]

    def owner(self, kind: str, key: str) -> str | None:
        """The plugin that owns ``key`` (``None``: nobody, or contested); ``kind`` is
        ``families``, ``weights``, ``key_adapters``, ``recipes`` or ``weight_stores``."""
        if kind not in self._owners:
            close = difflib.get_close_matches(str(kind), list(self._owners), 1)
            raise ZooValidationError(
                "kind",
                f"{kind!r} is not a kind of declaration" + (f" (did you mean {close[0]!r}?)" if close else ""),
                hint="use one of " + ", ".join(sorted(self._owners)),
            )
        return self._owners[kind].get(key)

    def families(self) -> dict[str, Family]:
        return {f.name: f for i in self._loaded() for f in i.families}

    def weights(self) -> dict[str, Weights]:
        return {w.ref: w for i in self._loaded() for w in i.weights}

    def key_adapters(self) -> dict[str, KeyAdapter]:
        return {k.name: k for i in self._loaded() for k in i.key_adapters}

    def recipes(self) -> dict[str, Recipe]:
        return {r.name: r for i in self._loaded() for r in i.recipes}

    def compressors(self) -> dict[str, Compressor]:
        return {c.name: c for i in self._loaded() for c in i.compressors}

    def compressor(self, name: str) -> Compressor:
        return _lookup(self.compressors(), name, "compression method")

    def transfer_methods(self) -> dict[str, TransferMethod]:
        return {m.name: m for i in self._loaded() for m in i.transfer_methods}

    def transfer_method(self, name: str) -> TransferMethod:
        return _lookup(self.transfer_methods(), name, "transfer method")

    def weight_stores(self) -> dict[str, WeightStore]:
        return {s.scheme: s for i in self._loaded() for s in i.weight_stores}

    def datasets(self) -> dict[str, Dataset]:
        return {d.name: d for i in self._loaded() for d in i.datasets}

    def family(self, name: str) -> Family:
        return _lookup(self.families(), name, "architecture")

    def recipe(self, name: str) -> Recipe:
        return _lookup(self.recipes(), name, "recipe")

    def weight_store(self, scheme: str) -> WeightStore:
        return _lookup(self.weight_stores(), scheme, "URI scheme")

    def key_adapter_for(self, arch: str, weights_ref: str | None = None) -> KeyAdapter | None:
        """The adapter declared for this checkpoint, else for its architecture."""
        adapters = self.key_adapters().values()
        if weights_ref is not None:
            for adapter in adapters:
                if adapter.weights == weights_ref:
                    return adapter
        return next((a for a in adapters if a.arch == arch and a.weights is None), None)

    # -- calling hooks ----------------------------------------------------------------

    def _impls(self, hook: str) -> list[Any]:
        # pluggy's call order: last registered first, tryfirst before, trylast after.
        return [i for i in reversed(getattr(self.pm.hook, hook).get_hookimpls()) if not (i.hookwrapper or i.wrapper)]

    def _first_result(self, hook: str, kwargs: dict[str, Any]) -> tuple[Any, str]:
        family: Family = kwargs["family"]
        for impl in self._impls(hook):
            try:
                result = impl.function(**{a: kwargs[a] for a in impl.argnames})
            except ZooError:
                raise
            except Exception as exc:
                owner = self.owner("families", family.name)
                raise ZooPluginError(
                    f"plugin {impl.plugin_name!r} failed in {hook} for family {family.name!r}"
                    + (f" (declared by plugin {owner!r})" if owner and owner != impl.plugin_name else "")
                    + f": {type(exc).__name__}: {exc}",
                    hint="fix the plugin, or disable it with ZOO_DISABLE_PLUGINS",
                ) from exc
            if result is not None:
                return result, impl.plugin_name
        raise ZooPluginError(
            f"no plugin implements {hook} for family {family.name!r}",
            hint="declare Family.builder / Family.head, or implement the hook",
        )

    def build(self, family: Family, *, pretrained: bool = True, num_classes: int | None = None) -> Any:
        """Build ``family``'s architecture (``zoo_build``): the first plugin that returns a
        module wins; the core's default imports ``family.builder``. Call it under
        ``torch.device("meta")`` when weights will be loaded."""
        if not isinstance(family, Family):
            raise ZooValidationError("family", "must be a zoo.records.Family")
        check_num_classes(num_classes)
        model, plugin = self._first_result(
            "zoo_build", {"family": family, "pretrained": bool(pretrained), "num_classes": num_classes}
        )
        _check_module(model, plugin, "zoo_build", family)
        return model

    def adapt_head(self, model: Any, family: Family, num_classes: int) -> Any:
        """A fresh head with ``num_classes`` outputs (``0``: none, pooled features)."""
        check_num_classes(num_classes, optional=False)
        adapted, plugin = self._first_result(
            "zoo_adapt_head", {"model": model, "family": family, "num_classes": num_classes}
        )
        _check_module(adapted, plugin, "zoo_adapt_head", family)
        return adapted

    def preprocessor(self, family: Family, weights: Weights | None = None) -> Any:
        """The input preprocessing for ``weights`` of ``family`` (``zoo_preprocessor``):
        an image transform or a tokenizer. No plugin serving the family's modality is a
        ``ZooPluginError`` that says so."""
        if not isinstance(family, Family):
            raise ZooValidationError("family", "must be a zoo.records.Family")
        try:
            result, _ = self._first_result("zoo_preprocessor", {"family": family, "weights": weights})
        except ZooPluginError as exc:
            if not str(exc.message).startswith("no plugin implements"):
                raise
            raise ZooPluginError(
                f"no plugin provides the preprocessing of {family.modality.value} family {family.name!r}",
                hint="install a plugin that implements zoo_preprocessor for this modality, or build the "
                "transform from the record's preprocessing (model.zoo.preprocessing)",
            ) from None
        return result

    def check_policy(self, record: WeightsInfo, purpose: str) -> tuple[PolicyDecision, ...]:
        """Every plugin's opinion on using ``record`` for ``purpose`` (``get``,
        ``finetune`` or a team's own, e.g. ``production``). A policy hook that raises or
        answers garbage is an error: a policy that cannot decide must not silently allow."""
        check_purpose(purpose)
        decisions = []
        for impl in self._impls("zoo_policy_check"):
            try:
                result = impl.function(**{a: {"record": record, "purpose": purpose}[a] for a in impl.argnames})
            except Exception as exc:
                raise ZooPluginError(
                    f"plugin {impl.plugin_name!r}'s policy check raised {type(exc).__name__}: {exc}",
                    hint="fix the plugin, or disable it with ZOO_DISABLE_PLUGINS",
                ) from exc
            if result is None:
                continue
            if not isinstance(result, PolicyDecision):
                raise ZooPluginError(
                    f"plugin {impl.plugin_name!r}'s zoo_policy_check returned a "
                    f"{type(result).__name__}, not a PolicyDecision or None"
                )
            decisions.append(dataclasses.replace(result, rule=f"{impl.plugin_name}:{result.rule}"))
        return tuple(decisions)

    def enforce_policy(self, record: WeightsInfo, purpose: str) -> None:
        """Raise ``ZooPolicyError`` if any plugin refuses ``record`` for ``purpose``."""
        for decision in self.check_policy(record, purpose):
            if not decision.allowed:
                raise ZooPolicyError(
                    f"{record.qualified_name} may not be used for {purpose}: rule {decision.rule}"
                    + (f" ({decision.reason})" if decision.reason else ""),
                    hint="ask the rule's owner, or choose other weights (`zoo list`)",
                )

    def notify_audit(self, events: Sequence[AuditEvent]) -> None:
        """Pass committed audit events to every ``zoo_audit_event`` observer, each event
        once. An observer that raises is logged, recorded in :attr:`observer_failures`
        and ignored; it still gets the next events, and the others get all of them.
        Every :class:`~zoo.registry.Registry` calls the default host's after each commit;
        another host is attached with ``Registry(observers=[host.notify_audit])``."""
        for impl in self._impls("zoo_audit_event"):
            for event in events:
                try:
                    impl.function(**{a: event for a in impl.argnames})
                except Exception as exc:  # noqa: BLE001 - an observer never breaks a write
                    failure = PluginFailure(
                        impl.plugin_name,
                        "hook",
                        f"zoo_audit_event raised {type(exc).__name__} on event {event.seq}: {exc}",
                    )
                    self._observer_failures.append(failure)
                    _log.warning("%s (ignored)", failure)


class _Malformed(Exception):
    pass


def _zoo_version() -> str:
    import zoo

    return zoo.__version__


def _unmarked_hooks(obj: object) -> list[str]:
    # A function named like a hook but without @hookimpl would be silently ignored.
    problems = []
    for hook in HOOK_NAMES:
        func = getattr(obj, hook, None)
        if func is not None and callable(func) and not hasattr(func, f"{hookspecs.PROJECT}_impl"):
            problems.append(
                f"{hook} is not marked with @zoo.hookspecs.hookimpl, so it would never be called; decorate it"
            )
    return problems


def _lookup(mapping: Mapping[str, Any], name: str, kind: str) -> Any:
    key = str(name).strip().lower()
    if key not in mapping:
        raise ZooNotFoundError(
            kind,
            name,
            difflib.get_close_matches(key, list(mapping), 5),
            hint=f"`zoo plugins` shows which plugin declares which {kind}",
        )
    return mapping[key]


def _check_module(model: Any, plugin: str, hook: str, family: Family) -> None:
    import torch.nn  # the build is the moment heavy imports are allowed

    if not isinstance(model, torch.nn.Module):
        raise ZooPluginError(
            f"plugin {plugin!r}'s {hook} for family {family.name!r} returned a "
            f"{type(model).__name__}, not a torch.nn.Module"
        )


def _failures_error(failures: Iterable[PluginFailure]) -> ZooPluginError:
    lines = [str(f) for f in failures]
    return ZooPluginError(
        f"{len(lines)} plugin failure(s):\n  - " + "\n  - ".join(lines),
        hint="fix or uninstall the plugin, or skip it with ZOO_DISABLE_PLUGINS=NAME",
    )


def first_party_host(names: Iterable[str] | None = None) -> PluginHost:
    """A strict host with only the first-party plugins (those of :data:`FIRST_PARTY`
    that are installed, or ``names``): what the built-in catalogue is made of."""
    if names is None:
        names = []
        for dist in FIRST_PARTY:
            try:
                metadata.distribution(dist)
            except metadata.PackageNotFoundError:
                continue
            names.append(dist)
    return PluginHost(plugins=list(names), disable=(), strict=True)


@functools.cache
def default_host() -> PluginHost:
    """The process's shared host, built from the environment on first use.
    ``default_host.cache_clear()`` rebuilds it (e.g. after installing a plugin)."""
    return PluginHost()


@functools.cache
def runtime_host() -> PluginHost:
    """The host ``zoo.get`` uses on a registry already synced with the installed plugins:
    builders, head adapters, key adapters, stores and policy hooks, without the families
    and weights declarations (``records=False``). ``default_host`` when that is loaded."""
    if default_host.cache_info().currsize:
        return default_host()
    return PluginHost(records=False)


# -- the registry ----------------------------------------------------------------------
# The plugin -> registry sync lives in zoo.registry._sync; its functions stay importable
# from here (lazily: this module imports nothing of the registry).

__getattr__ = lazy_getattr(
    __name__,
    {"sync_registry": "zoo.registry._sync:sync_registry", "ensure_synced": "zoo.registry._sync:ensure_synced"},
    globals(),
)


# -- `zoo plugins` ---------------------------------------------------------------------


def plugins_report(host: PluginHost | None = None) -> list[dict[str, Any]]:
    """One JSON-ready row per plugin: what ``zoo plugins`` prints."""
    host = host or default_host()
    rows = []
    for info in host.plugins:
        rows.append(
            {
                "name": info.name,
                "distribution": info.distribution,
                "version": info.version,
                "module": info.value,
                "core": info.core,
                "status": info.status,
                "disabled": info.disabled,
                "hooks": list(info.hooks),
                "families": len(info.families),
                "weights": len(info.weights),
                "key_adapters": len(info.key_adapters),
                "recipes": len(info.recipes),
                "weight_stores": len(info.weight_stores),
                "errors": [f"{e.stage}: {e.message}" for e in info.errors],
                "warnings": list(info.warnings),
            }
        )
    for failure in host._host_failures:
        rows.append(
            {
                "name": failure.plugin,
                "distribution": None,
                "version": None,
                "module": None,
                "core": False,
                "status": "missing",
                "disabled": None,
                "hooks": [],
                "families": 0,
                "weights": 0,
                "key_adapters": 0,
                "recipes": 0,
                "weight_stores": 0,
                "errors": [f"{failure.stage}: {failure.message}"],
                "warnings": [],
            }
        )
    return rows
