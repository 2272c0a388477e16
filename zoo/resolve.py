"""``zoo.get`` and ``zoo.preprocess``: a name becomes a verified, placed ``nn.Module``.

The layers (timm style):

- this module: the public API, argument checks, the registry, policy and fetch. It
  imports no torch at module import, so ``import zoo`` stays cheap;
- :mod:`zoo._loading`: build on ``meta``, key adapter, head, strict load, materialise,
  place (imports torch).

Flow of ``get(name, num_classes)``: registry (synced with the installed plugins once per
process) -> resolve -> policy (revoked refused, deprecated warned, plugin checks) ->
fetch (content-addressed cache, verified) and pin the full sha256 -> open the
safetensors onto the target device -> key adapter -> build on ``meta`` -> adapt the head
to the checkpoint's -> strict load except the head (``assign=True``: no copy) -> the
requested head -> materialise what is still on ``meta`` -> place -> ``model.zoo``.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo._load_report import LoadReport
from zoo.errors import (
    ZooConflictError,
    ZooError,
    ZooFetchError,
    ZooIntegrityError,
    ZooNotFoundError,
    ZooOfflineError,
    ZooRegistryError,
    ZooValidationError,
)
from zoo.limits import check_num_classes
from zoo.records import CardSection, DatasetUse, Family, License, ParentLink, WeightsInfo, to_jsonable

if TYPE_CHECKING:  # pragma: no cover
    from zoo.plugins import PluginHost
    from zoo.registry import Registry
    from zoo.registry._reads import RegistryReads
    from zoo.weights import FetchedFile

__all__ = ["LoadReport", "ModelInfo", "Provenance", "get", "preprocess"]

_log = logging.getLogger("zoo.resolve")


# -- what get() returns with the model -----------------------------------------------------


@dataclass(frozen=True)
class Provenance:
    """Where the weights came from (the registry's record)."""

    publisher: str | None = None
    paper_title: str | None = None
    paper_url: str | None = None
    recipe: str | None = None
    datasets: tuple[DatasetUse, ...] = ()
    parents: tuple[ParentLink, ...] = ()
    plugin: str | None = None
    plugin_version: str | None = None


@dataclass(frozen=True)
class ModelInfo:
    """``model.zoo``: what the model is, where its weights came from, how it was loaded."""

    name: str
    """The name it was asked for."""
    qualified_name: str | None
    """``ref@version`` of the weights (``None`` for an architecture without weights)."""
    weights_id: int | None
    arch: str
    modality: str
    task: str
    sha256: str | None
    license: License | None
    provenance: Provenance | None
    bias_notes: tuple[CardSection, ...]
    preprocessing: Mapping[str, Any]
    load_report: LoadReport
    path: Path | None
    """The verified safetensors file in the cache the tensors were loaded from."""
    device: str
    dtype: str
    record: WeightsInfo | None = field(default=None, repr=False, compare=False)

    def summary(self) -> str:
        lines = [
            f"{self.qualified_name or self.arch} ({self.arch}, {self.modality}, {self.task}) on "
            f"{self.device}, {self.dtype}"
        ]
        if self.license is not None:
            lines.append(f"licence: {self.license.spdx} — commercial use: {self.license.commercial_use.value}")
        if self.effective_use is not None:
            lines.append(
                f"effective commercial use: {self.effective_use.commercial_use.value} — "
                + "; ".join(self.effective_use.reasons)
            )
        if self.sha256:
            lines.append(f"sha256: {self.sha256}")
        if self.bias_notes:
            lines.append(f"bias and limitation notes ({len(self.bias_notes)}):")
            lines += [
                f"  - {n.title or n.kind.value}"
                + (f" (from {n.inherited_from})" if n.inherited_from else "")
                + f": {n.body}"
                for n in self.bias_notes
            ]
        elif self.record is not None:
            lines.append("bias and limitation notes: none recorded")
        return "\n".join(lines)

    @property
    def effective_use(self):
        """Commercial use given the licence, the parents and the training data's terms
        (:class:`zoo.records.EffectiveUse`), when the model came from the registry."""
        return self.record.effective_use if self.record is not None else None

    def to_dict(self) -> dict[str, Any]:
        data = {
            f: to_jsonable(getattr(self, f))
            for f in (
                "name",
                "qualified_name",
                "weights_id",
                "arch",
                "modality",
                "task",
                "sha256",
                "license",
                "provenance",
                "bias_notes",
                "preprocessing",
                "device",
                "dtype",
            )
        }
        data["effective_use"] = self.effective_use.to_dict() if self.effective_use is not None else None
        data["load_report"] = self.load_report.to_dict()
        data["path"] = str(self.path) if self.path else None
        return data


# -- registry and host, shared across calls -----------------------------------------------

_lock = threading.RLock()
_registries: dict[str, Registry] = {}
# Hosts whose plugins were synced into a registry (by URL) in this process: a host's
# plugins never change after it loaded, so one sync (or fingerprint check) is enough.
_synced: weakref.WeakKeyDictionary[PluginHost, set[str]] = weakref.WeakKeyDictionary()


# Registries whose plugins were found synced by the fast path in this process: the
# installed plugins do not change under a running process (default_host assumes it too).
_lite_checked: set[str] = set()


def _context(registry: RegistryReads | None, host: PluginHost | None) -> tuple[RegistryReads, PluginHost, Any]:
    """(registry, host, what to close after the call). The default registry, when it is
    an SQLite file synced with the installed plugins, is read through the CLI's fast
    path (:mod:`zoo.registry._lite`: stdlib sqlite3, one snapshot per call) with a host
    that loads no catalogue; anything else opens :class:`~zoo.registry.Registry`."""
    if registry is None:
        from zoo.registry._lite import open_lite
        from zoo.registry._location import default_url, normalize_url

        url = normalize_url(default_url())  # read per call: ZOO_HOME / ZOO_REGISTRY_URL may change
        if host is None:
            lite = open_lite(url, check_plugins=url not in _lite_checked)
            if lite is not None:
                from zoo.plugins import runtime_host

                _lite_checked.add(url)
                return lite, runtime_host(), lite
        from zoo.registry import Registry

        with _lock:
            registry = _registries.get(url)
            if registry is None:
                registry = _registries[url] = Registry(url, sync=False)
    else:
        from zoo.registry._reads import RegistryReads

        if not isinstance(registry, RegistryReads):
            raise ZooValidationError("registry", f"expected a zoo.registry.Registry, got {type(registry).__name__}")
    from zoo.plugins import PluginHost, default_host, ensure_synced

    if host is None:
        host = default_host()
    elif not isinstance(host, PluginHost):
        raise ZooValidationError("host", f"expected a zoo.plugins.PluginHost, got {type(host).__name__}")
    writer = registry.writer()  # a read-only view has nothing to sync (its opener checked the plugins)
    with _lock:
        done = _synced.setdefault(host, set())
        if writer is not None and writer.url not in done:
            ensure_synced(writer, host)
            done.add(writer.url)
    return registry, host, None


# -- argument checks -----------------------------------------------------------------------


def _check_progress(progress: Any) -> None:
    if progress is None or isinstance(progress, bool) or callable(progress):
        return
    raise ZooValidationError("progress", f"must be None, True, False or a callable (done, total), not {progress!r}")


def _check_flag(value: Any, name: str, *, optional: bool = False) -> None:
    if (optional and value is None) or isinstance(value, bool):
        return
    raise ZooValidationError(name, f"must be True or False{' or None' if optional else ''}, not {value!r}")


def _resolve(registry: RegistryReads, name: str, pretrained: bool) -> tuple[WeightsInfo | None, Family]:
    try:
        info = registry.resolve(name)
    except ZooNotFoundError:
        if pretrained:
            raise
        # An architecture without weights is fine when no weights are wanted.
        try:
            return None, registry.family(str(name).strip().split("@")[0])
        except ZooError:
            pass
        raise
    return info, info.family


def _check_policy(info: WeightsInfo, registry: RegistryReads, host: PluginHost, acknowledge: Any) -> None:
    # The registry's policies (zoo.policy): revoked refused, deprecated warned, the team's
    # optional rules (commercial use, high-severity bias acknowledgement), plugin checks.
    from zoo import policy

    policy.enforce(info, "get", registry=registry, host=host, acknowledge=acknowledge, stacklevel=4)


def _fetch(
    info: WeightsInfo, registry: RegistryReads, host: PluginHost, offline: bool | None, progress: Any
) -> FetchedFile:
    from zoo.weights import _attested, _hub, fetch

    w = info.weights
    kwargs = {"stores": host.weight_stores(), "progress": progress}
    if w.sha256 is None and w.sha256_prefix is None:
        # Trust on first use: the Hub's attested sha256 and commit, verified, then pinned
        # (policy zoo:pinned-only, checked before, refuses this for teams that want it).
        fetched, att = _attested.fetch_attested(w, label=info.ref, offline=offline, **kwargs)
        _pin(registry, info, fetched.sha256, revision=att.commit, origin=f"hub-attestation {att.url}")
        return fetched
    sources = w.sources
    fresh_download = False
    if info.pinned_revision:
        from zoo.weights import WeightsCache

        sources = _hub.pinned_sources(sources, info.pinned_revision)
        fresh_download = WeightsCache().find(sha256=w.sha256, sha256_prefix=w.sha256_prefix) is None
    try:
        fetched = fetch(
            sources,
            sha256=w.sha256,
            sha256_prefix=w.sha256_prefix,
            size=w.size_bytes,
            format=w.format,
            offline=offline,
            **kwargs,
        )
    except ZooFetchError as exc:
        if info.pinned_revision and not isinstance(exc, ZooOfflineError):
            if (move := _hub.moved(w, info.pinned_revision)) is not None:
                raise ZooIntegrityError(
                    f"{info.qualified_name} is pinned to commit {info.pinned_revision} of its Hub repository, "
                    f"which no source serves any more; revision {move[0]!r} moved to {move[1]}, and zoo does "
                    "not follow a moved revision",
                    hint="review the new file; to use it, register it as new "
                    "weights (a pin is never replaced in place); `zoo history NAME` shows where the pin came "
                    "from",
                ) from None
        raise
    if fresh_download and info.pinned_revision and (move := _hub.moved(w, info.pinned_revision)) is not None:
        # Downloaded at the pinned commit, which is still served: say that the branch moved
        # (one HEAD, on a download only; a cache hit asks the network nothing).
        import warnings

        from zoo.errors import ZooRevisionMovedWarning

        warnings.warn(
            ZooRevisionMovedWarning(
                f"{info.qualified_name}: revision {move[0]!r} of its Hub repository moved to {move[1]}; zoo "
                f"loaded the pinned commit {info.pinned_revision} and does not follow a moved revision "
                "(register the new file as new weights to use it)"
            ),
            stacklevel=4,
        )
    if w.sha256 is None:
        # The record knew a prefix only: remember the full hash (an audit event), so the
        # next fetch is pinned to these exact bytes.
        _pin(registry, info, fetched.sha256, revision=None, origin="first fetch, verified against the recorded prefix")
    return fetched


def _pin(registry: RegistryReads, info: WeightsInfo, sha256: str, *, revision: str | None, origin: str) -> None:
    # Behind the fast read path (a read-only view), the full Registry is opened for this one write.
    from zoo.registry import Registry

    target = registry.writer()
    try:
        target = target or Registry(registry.url, sync=False)
        target.pin(info.qualified_name, sha256, revision=revision, origin=origin)
    except ZooConflictError as exc:
        # Another process pinned other bytes meanwhile: these verified against what was
        # attested to *us*, but the registry disagrees, so they are not used.
        raise ZooIntegrityError(
            f"{info.qualified_name}: {exc.message}",
            hint="`zoo history NAME` shows who pinned what; `zoo info NAME` the pin",
        ) from None
    except ZooRegistryError as exc:
        _log.warning(
            "could not pin the sha256 of %s in the registry (%s); the next fetch verifies it again",
            info.qualified_name,
            exc.message,
        )
    finally:
        if target is not None and target is not registry:
            target.close()


def _with_alternatives(exc: ZooFetchError, registry: Any, info: WeightsInfo) -> ZooFetchError:
    try:
        ready = [name for name in _loadable_now(registry, info.family.name) if not name.startswith(info.ref + " ")]
    except ZooError:  # the registry cannot say: the fetch error is what matters
        return exc
    text = (
        f"weights of {info.family.name} that load right now: " + ", ".join(ready)
        if ready
        else f"no weights of {info.family.name} are installed or cached here"
    )
    error = type(exc)(exc.message + "\n" + text, hint=exc.hint)
    error.failures = exc.failures
    return error


def _loadable_now(registry: Any, arch: str) -> list[str]:
    """Weights of ``arch`` that load without a network: pinned, and in the cache or in a
    local file (``pkg://`` from an installed distribution, ``file://``)."""
    from zoo.weights import WeightsCache
    from zoo.weights._sources import SourceFailed, local_path, scheme_of

    cache = WeightsCache()
    ready = []
    for row in registry.search(arch=arch).rows:
        if str(getattr(row.status, "value", row.status)) == "revoked":
            continue
        w = registry.resolve(f"{row.name}@{row.version}").weights
        if w.sha256 is None and w.sha256_prefix is None:
            continue
        if cache.find(w.sha256, w.sha256_prefix if w.sha256 is None else None) is not None:
            ready.append(f"{row.name} (cached)")
            continue
        for source in w.sources:
            scheme = scheme_of(source.uri)
            if scheme in ("pkg", "file"):
                try:
                    local_path(source.uri)
                except SourceFailed:
                    continue
                ready.append(f"{row.name} ({'installed' if scheme == 'pkg' else 'local file'})")
                break
    return ready


# -- the API -------------------------------------------------------------------------------


def get(
    name: str,
    num_classes: int | None = None,
    *,
    pretrained: bool = True,
    device: Any = "auto",
    dtype: Any = None,
    channels_last: bool | None = None,
    compile: bool = False,
    registry: Registry | None = None,
    host: PluginHost | None = None,
    offline: bool | None = None,
    progress: Any = None,
    acknowledge: Any = (),
) -> Any:
    """A pretrained backbone as an ``nn.Module`` in eval mode, with its record at ``model.zoo``.

    ``name``: ``arch`` (its default weights), ``arch.tag``, or ``namespace/name[@version|@alias]``.
    ``num_classes``: ``None`` keeps the checkpoint's head, ``0`` removes it (the model
    returns pooled features), ``k`` puts a fresh head of ``k`` outputs (the only tensors
    that are randomly initialised). ``pretrained=False`` builds the architecture with its
    own initialisation and fetches nothing. ``device``: ``"auto"`` (cuda, then mps, then
    cpu), or any torch device; ``dtype``: e.g. ``torch.float16`` or ``"bfloat16"``;
    ``channels_last``: ``None`` turns it on for conv nets on CUDA; ``compile``: wrap in
    ``torch.compile``. ``offline`` (default ``$ZOO_OFFLINE``) never opens a connection;
    ``progress``: ``None`` shows a download bar when stderr is a terminal, a callable
    gets ``(done, total)``. ``acknowledge``: weights names whose high-severity bias notes
    the caller has read (policy ``acknowledge-high-bias``, :mod:`zoo.policy`). Every
    failure is a typed :class:`~zoo.errors.ZooError`.
    """
    check_num_classes(num_classes)
    _check_progress(progress)
    from zoo.policy import check_acknowledge  # no torch, no plugins

    check_acknowledge(acknowledge)
    _check_flag(pretrained, "pretrained")
    _check_flag(compile, "compile")
    _check_flag(channels_last, "channels_last", optional=True)
    if offline is not None:
        _check_flag(offline, "offline")
    if not isinstance(name, str):
        raise ZooValidationError(
            "name",
            f"must be a model name, not {type(name).__name__}",
            hint="e.g. 'resnet50', 'resnet50.tv2_in1k', 'team/model@2'",
        )
    from zoo import _loading  # torch from here on

    target = _loading.target_device(device)
    target_dtype = _loading.target_dtype(dtype)
    reads, host, opened = _context(registry, host)
    fetched = None
    model: Any  # an nn.Module, which carries its record as model.zoo
    try:
        info, family = _resolve(reads, name, pretrained)
        if pretrained:
            assert info is not None
            _check_policy(info, reads, host, acknowledge)
            try:
                fetched = _fetch(info, reads, host, offline, progress)
            except ZooFetchError as exc:  # offline or unreachable: say what would load now
                raise _with_alternatives(exc, reads, info) from None
    finally:
        if opened is not None:  # the fast path's read snapshot ends here
            opened.close()
    if pretrained:
        assert info is not None and fetched is not None
        from zoo.compression._rebuild import load_registered, rebuild_spec

        if (spec := rebuild_spec(info.weights)) is not None:  # quantized, pruned, exported: the method rebuilds
            model, report = load_registered(host, info, family, fetched, spec, num_classes=num_classes, device=device)
            model.zoo = _model_info(name, info, family, report, fetched, model)
            return model
        model, report = _loading.load_pretrained(
            host, family, info.ref, fetched, num_classes=num_classes, device=target, dtype=target_dtype
        )
    else:
        model, report = _loading.build_fresh(host, family, num_classes=num_classes, device=target)
    model = _loading.place(model, device=target, dtype=target_dtype, channels_last=channels_last)
    card = _model_info(name, info, family, report, fetched, model)
    if compile:
        import torch

        compiled: Any = torch.compile(model)
        compiled.zoo = card
        model.zoo = card
        return compiled
    model.zoo = card
    return model


def _model_info(
    name: str, info: WeightsInfo | None, family: Family, report: LoadReport, fetched: FetchedFile | None, model: Any
) -> ModelInfo:
    param = next(model.parameters(), None)
    device = str(param.device) if param is not None else "cpu"
    dtype = str(param.dtype).removeprefix("torch.") if param is not None else "float32"
    preprocessing = dict(family.preprocessing or {})
    w = info.weights if info is not None else None
    if w is not None:
        preprocessing.update(w.preprocessing or {})
    return ModelInfo(
        name=name,
        qualified_name=info.qualified_name if info else None,
        weights_id=info.id if info else None,
        arch=family.name,
        modality=family.modality.value,
        task=family.task,
        sha256=(fetched.sha256 if fetched else (w.sha256 if w else None)),
        license=w.license if w else None,
        provenance=Provenance(
            w.publisher, w.paper_title, w.paper_url, w.recipe, w.datasets, w.parents, info.plugin, info.plugin_version
        )
        if w and info
        else None,
        bias_notes=info.bias_notes if info else (),
        preprocessing=preprocessing,  # a plain dict: models with .zoo must stay deep-copyable
        load_report=report,
        path=fetched.path if fetched else None,
        device=device,
        dtype=dtype,
        record=info,
    )


def preprocess(name: str, *, registry: Registry | None = None, host: PluginHost | None = None) -> Any:
    """The input preprocessing that matches ``name``'s weights: an image transform
    (torchvision transforms v2: resize, centre crop, to float, normalize) for vision
    backbones, the tokenizer for text backbones. Provided by the plugins'
    ``zoo_preprocessor`` hook."""
    if not isinstance(name, str):
        raise ZooValidationError("name", f"must be a model name, not {type(name).__name__}")
    reads, host, opened = _context(registry, host)
    try:
        info, family = _resolve(reads, name, pretrained=False)
    finally:
        if opened is not None:
            opened.close()
    return host.preprocessor(family, info.weights if info else None)
