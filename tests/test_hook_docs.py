"""Every hook of the plugin contract is documented in docs/plugins.md: a heading of its
own, its parameters, what it returns, and whether it is firstresult; and the guide
documents no hook that does not exist."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from zoo import hookspecs

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
HOOKS = {
    name: func
    for name, func in vars(hookspecs).items()
    if callable(func) and hasattr(func, f"{hookspecs.PROJECT}_spec")
}
IGNORED_TYPES = {"Sequence", "Any", "None"}


def sections() -> dict[str, str]:
    """``zoo_*`` heading -> the text up to the next heading of the same or higher level."""
    text = DOC.read_text(encoding="utf-8")
    found = {}
    headings = list(re.finditer(r"^(#{2,4}) +`?(zoo_\w+)`?\s*$", text, re.M))
    for match in headings:
        level = len(match.group(1))
        rest = text[match.end() :]
        end = re.search(rf"^#{{1,{level}}} ", rest, re.M)
        found[match.group(2)] = rest[: end.start()] if end else rest
    return found


def test_the_contract_has_hooks():
    assert {"zoo_families", "zoo_weights", "zoo_build", "zoo_adapt_head", "zoo_audit_event"} <= set(HOOKS)


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_hook_is_documented(name):
    docs = sections()
    assert name in docs, f"docs/plugins.md has no '### {name}' section"
    section = docs[name]
    signature = inspect.signature(HOOKS[name])
    assert f"def {name}(" in section, f"{name}: show its signature"
    for parameter in signature.parameters:
        assert re.search(rf"\b{parameter}\b", section), f"{name}: parameter {parameter!r} is not documented"
    returned = set(re.findall(r"[A-Za-z_]\w*", str(signature.return_annotation))) - IGNORED_TYPES
    for type_name in returned:
        assert type_name in section, f"{name}: the return type {type_name} is not mentioned"
    firstresult = HOOKS[name].zoo_spec["firstresult"]
    assert ("firstresult" in section) == firstresult, f"{name}: say whether it is firstresult"
    assert "**When:**" in section and "**Return" in section, f"{name}: say when it is called and what to return"


def test_no_documented_hook_is_missing_from_the_contract():
    assert set(sections()) <= set(HOOKS)


@pytest.mark.parametrize("variable", ["ZOO_PLUGINS", "ZOO_DISABLE_PLUGINS", "ZOO_STRICT_PLUGINS"])
def test_environment_variables_are_documented(variable):
    assert variable in DOC.read_text(encoding="utf-8")
