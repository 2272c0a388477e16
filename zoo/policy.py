"""Usage policies: what ``zoo.get`` and ``zoo.finetune`` refuse before any byte is fetched.

Rules (each refusal is a :class:`~zoo.errors.ZooPolicyError` naming the rule, the record
and how to proceed):

- ``zoo:revoked`` — always on: revoked weights are never used. Deprecated weights are
  used with a :class:`~zoo.errors.ZooDeprecationWarning`.
- ``zoo:commercial`` — optional: refuse weights whose effective commercial use (their
  licence, their parents' licences and the terms of their training data, through the
  lineage: ``WeightsInfo.effective_use``) is forbidden or not stated (``conditional``
  passes: its conditions are for a person to read).
- ``zoo:pinned-only`` — optional: weights whose record pins no hash (neither sha256 nor a
  prefix) are refused; otherwise their first fetch from the Hugging Face Hub pins the
  sha256 and commit the Hub attests (:mod:`zoo.weights._hub`).
- ``zoo:acknowledge-high-bias`` — optional: weights with a bias or limitation note of
  severity ``high`` are used only when the caller acknowledges them by name
  (``acknowledge=["resnet50.tv_in1k"]`` or ``ZOO_ACKNOWLEDGE=resnet50.tv_in1k``).
- plugins add rules through the ``zoo_policy_check`` hook (named ``plugin:rule``).

An optional rule is on when the registry says so (setting ``policy.<name> = require``,
``zoo policy set <name> require``: the team's policy, audited) or when ``ZOO_POLICY``
names it (comma-separated: a user or CI can be stricter, never laxer, than the registry).
"""

from __future__ import annotations

import difflib
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zoo.errors import ZooDeprecationWarning, ZooPolicyError, ZooRegistryError, ZooValidationError
from zoo.limits import check_purpose  # re-exported: zoo.policy.check_purpose
from zoo.records import CommercialUse, PolicyDecision, Severity, Status, WeightsInfo

if TYPE_CHECKING:  # pragma: no cover
    from zoo.plugins import PluginHost
    from zoo.registry import Registry, RegistryReads

__all__ = ["POLICIES", "PolicyState", "enforce", "policy_states", "set_policy"]

POLICIES: dict[str, str] = {
    "commercial": "refuse weights whose licence, parents or training data forbid or do not state commercial use",
    "acknowledge-high-bias": "require an explicit acknowledgement of bias notes of high severity",
    "pinned-only": "refuse weights that pin no hash, instead of pinning them on first fetch from the Hub's "
    "attestation (trust on first use)",
}
VALUES = ("require", "off")
PURPOSES = ("get", "finetune")  # what zoo.get and zoo.finetune check; teams add their own (production, export)
ENV_POLICY = "ZOO_POLICY"
ENV_ACKNOWLEDGE = "ZOO_ACKNOWLEDGE"
SETTING_PREFIX = "policy."


@dataclass(frozen=True)
class PolicyState:
    """One optional policy: on or off, and who turned it on."""

    name: str
    description: str
    registry: str  # the registry setting: "require" or "off" (unset reads "off")
    environment: bool  # named in $ZOO_POLICY

    @property
    def enabled(self) -> bool:
        return self.registry == "require" or self.environment

    @property
    def set_by(self) -> str:
        who = (["registry setting policy." + self.name] if self.registry == "require" else []) + (
            [ENV_POLICY] if self.environment else []
        )
        return " and ".join(who) or "nobody"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "enabled": self.enabled,
            "registry": self.registry,
            "environment": self.environment,
            "set_by": self.set_by,
        }


def check_name(name: Any, field: str = "policy") -> str:
    text = str(name or "").strip().lower()
    if text not in POLICIES:
        close = difflib.get_close_matches(text, list(POLICIES), 3, cutoff=0.5)
        raise ZooValidationError(
            field,
            f"unknown policy {name!r}" + (f"; did you mean {', '.join(map(repr, close))}?" if close else ""),
            hint="known policies: " + ", ".join(POLICIES) + " (`zoo policy show`)",
        )
    return text


def _env_policies() -> set[str]:
    raw = os.environ.get(ENV_POLICY, "")
    names = {p.strip().lower() for p in raw.replace(" ", ",").split(",") if p.strip()}
    names.discard("none")
    return {check_name(n, ENV_POLICY) for n in names}


def _registry_value(registry: RegistryReads | None, name: str) -> str:
    if registry is None:
        return "off"
    value = registry.get_setting(SETTING_PREFIX + name)
    if value is None:
        return "off"
    if value not in VALUES:
        # Fail closed: an unreadable policy must not silently allow.
        raise ZooRegistryError(
            f"registry setting {SETTING_PREFIX}{name} holds {value!r}, not one of "
            f"{', '.join(VALUES)}; nothing is allowed until it is fixed",
            hint=f"run `zoo policy set {name} require` or `zoo policy set {name} off`",
        )
    return value


def policy_states(registry: RegistryReads | None) -> list[PolicyState]:
    """Every optional policy with its registry setting and whether ``$ZOO_POLICY`` names it."""
    env = _env_policies()
    return [
        PolicyState(name, description, _registry_value(registry, name), name in env)
        for name, description in POLICIES.items()
    ]


def set_policy(registry: Registry, name: str, value: str, *, actor: str | None = None) -> bool:
    """Turn a policy on (``require``) or off for everyone using ``registry``; the change is
    an audit event. Returns whether it changed."""
    name = check_name(name)
    value = str(value or "").strip().lower()
    if value not in VALUES:
        raise ZooValidationError("value", f"{value!r} is not a policy value", hint="use require or off")
    return registry.set_audited_setting(SETTING_PREFIX + name, value, actor=actor)


def check_acknowledge(acknowledge: Any) -> None:
    """A typed error unless ``acknowledge`` is None, a weights name or a sequence of
    them (checked whether or not the policy is on, so a mistake never passes silently)."""
    _acknowledged(acknowledge)


def _acknowledged(acknowledge: Any) -> set[str]:
    if acknowledge is None:
        items: list[str] = []
    elif isinstance(acknowledge, str):
        items = [acknowledge]
    elif isinstance(acknowledge, Iterable):
        items = list(acknowledge)
        if isinstance(acknowledge, (bytes, Mapping)) or not all(isinstance(a, str) for a in items):
            raise ZooValidationError(
                "acknowledge", "must be weights names (text)", hint="e.g. acknowledge=['resnet50.tv_in1k']"
            )
    else:
        raise ZooValidationError(
            "acknowledge",
            f"must be a list of weights names, not {type(acknowledge).__name__}",
            hint="e.g. acknowledge=['resnet50.tv_in1k']",
        )
    items += os.environ.get(ENV_ACKNOWLEDGE, "").split(",")
    return {a.strip().lower() for a in items if a.strip()}


def _refusal(rule: str, info: WeightsInfo, message: str, hint: str) -> ZooPolicyError:
    error = ZooPolicyError(message, hint=hint)
    error.rule = rule  # type: ignore[attr-defined]
    error.record = info.qualified_name  # type: ignore[attr-defined]
    return error


def enforce(
    info: WeightsInfo,
    purpose: str,
    *,
    registry: RegistryReads | None,
    host: PluginHost | None = None,
    acknowledge: Iterable[str] | str | None = (),
    stacklevel: int = 2,
) -> tuple[PolicyDecision, ...]:
    """Check ``info`` against every policy for ``purpose`` (``get``, ``finetune``, or a
    team's own such as ``production``; the registry's rules apply to every purpose).

    Raises :class:`~zoo.errors.ZooPolicyError` (with ``rule`` and ``record``) on the first
    refusal; warns for deprecated weights; returns the decisions of the rules that were
    checked (``allowed=True``). ``registry`` holds the team's settings (``None``: the
    default registry, as for ``zoo.get``); ``host`` runs the
    plugins' ``zoo_policy_check`` hooks; ``acknowledge`` names weights whose high-severity
    bias notes the caller has read (``$ZOO_ACKNOWLEDGE`` adds to it)."""
    if not isinstance(info, WeightsInfo):
        raise ZooValidationError(
            "info",
            f"must be a zoo.records.WeightsInfo, not {type(info).__name__}",
            hint="resolve the name first: Registry().resolve(name)",
        )
    check_purpose(purpose)
    w, name = info.weights, info.qualified_name
    decisions = []
    if registry is None:  # zoo.get's default: $ZOO_REGISTRY_URL or $ZOO_HOME/registry.db
        from zoo.registry import Registry

        with Registry() as default:
            return enforce(
                info, purpose, registry=default, host=host, acknowledge=acknowledge, stacklevel=stacklevel + 1
            )
    if w.status is Status.REVOKED:
        raise _refusal(
            "zoo:revoked",
            info,
            f"{name} is revoked and will not be used for {purpose} (rule zoo:revoked)"
            + (f": {w.status_reason}" if w.status_reason else ""),
            f"choose other weights (`zoo list {info.family.name}*`); `zoo history {info.ref}` shows who "
            "revoked it and why",
        )
    decisions.append(PolicyDecision("zoo:revoked", True))
    if w.status is Status.DEPRECATED:
        warnings.warn(
            f"{name} is deprecated"
            + (f": {w.status_reason}" if w.status_reason else "")
            + f" (`zoo list {info.family.name}*` shows the alternatives)",
            ZooDeprecationWarning,
            stacklevel=stacklevel,
        )
    states = {s.name: s for s in policy_states(registry)}

    state = states["commercial"]
    if state.enabled:
        # The effective use: the licence, the parents' licences and the training data's
        # terms together (the same rule as `zoo audit licences`).
        effective = info.effective_use
        use = effective.commercial_use if effective is not None else w.license.commercial_use
        why = "; ".join(effective.reasons) if effective is not None else f"licence {w.license.spdx}"
        if use in (CommercialUse.FORBIDDEN, CommercialUse.UNKNOWN):
            says = "forbidden" if use is CommercialUse.FORBIDDEN else "not stated"
            raise _refusal(
                "zoo:commercial",
                info,
                f"{name} may not be used for {purpose}: rule zoo:commercial (set by {state.set_by}) requires "
                f"that commercial use is allowed, and for these weights it is {says} ({why})",
                "choose weights whose licence and training data allow it (`zoo audit licences --commercial "
                "allowed`); if this licence does "
                "allow it, have the record corrected (e.g. `zoo card import README.md --for NAME` when it states "
                "no licence); the rule is turned off with `zoo policy set commercial off` (registry) or by "
                f"leaving 'commercial' out of {ENV_POLICY}",
            )
        decisions.append(PolicyDecision("zoo:commercial", True, f"commercial use: {use.value} ({why})"))

    state = states["acknowledge-high-bias"]
    if state.enabled:
        high = [n for n in info.bias_notes if n.severity is Severity.HIGH]
        if high:
            accepted = {info.ref, name} | {f"{info.ref}@{a}" for a in info.aliases}
            if not accepted & _acknowledged(acknowledge):
                notes = "; ".join(f"{n.title or n.kind.value}: {_short(n.body)}" for n in high)
                raise _refusal(
                    "zoo:acknowledge-high-bias",
                    info,
                    f"{name} has {len(high)} bias note(s) of high severity ({notes}); rule "
                    f"zoo:acknowledge-high-bias (set by {state.set_by}) requires an explicit acknowledgement "
                    f"before it is used for {purpose}",
                    f"read them (`zoo info {info.ref}`), then acknowledge: zoo.get(..., acknowledge=['{info.ref}']), "
                    f"`zoo get {info.ref} --acknowledge {info.ref}` or {ENV_ACKNOWLEDGE}={info.ref}",
                )
            decisions.append(
                PolicyDecision("zoo:acknowledge-high-bias", True, f"{len(high)} high-severity note(s) acknowledged")
            )
        else:
            decisions.append(PolicyDecision("zoo:acknowledge-high-bias", True, "no high-severity notes"))

    state = states["pinned-only"]
    if state.enabled:
        if w.sha256 is None and w.sha256_prefix is None:
            raise _refusal(
                "zoo:pinned-only",
                info,
                f"{name} pins no sha256, and rule zoo:pinned-only (set by {state.set_by}) accepts only weights "
                "pinned before their first fetch (no trust on first use of the Hub's attestation)",
                f"check the file yourself, then pin it: `zoo pin {info.ref} --file PATH` or "
                f"`zoo pin {info.ref} --sha256 HEX`; or `zoo policy set pinned-only off`",
            )
        decisions.append(PolicyDecision("zoo:pinned-only", True, "pinned"))

    if host is not None:
        for decision in host.check_policy(info, purpose):
            if not decision.allowed:
                raise _refusal(
                    decision.rule,
                    info,
                    f"{name} may not be used for {purpose}: rule {decision.rule}"
                    + (f" ({decision.reason})" if decision.reason else ""),
                    f"the rule comes from plugin {decision.rule.split(':', 1)[0]!r}: ask its owner, or choose "
                    "other weights (`zoo list`)",
                )
            decisions.append(decision)
    return tuple(decisions)


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
