"""The plugin host against REAL installed distributions: each test writes throwaway
distributions (a ``*.dist-info`` with METADATA and entry_points.txt, plus the module)
to a directory on ``sys.path`` (in-process) or ``PYTHONPATH`` (subprocesses), so that
discovery goes through importlib.metadata exactly as for a pip-installed plugin."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from zoo.errors import ZooNotFoundError, ZooPluginError, ZooPolicyError, ZooValidationError
from zoo.hookspecs import hookimpl
from zoo.plugins import (
    FINGERPRINT_SETTING,
    PluginHost,
    PluginSelection,
    ensure_synced,
    installed_fingerprint,
    plugins_report,
    sync_registry,
)
from zoo.records import Family
from zoo.testing import FakeDistributions, check_plugin, host_of, registered_plugin

ROOT = Path(__file__).resolve().parents[1]

# A well-behaved plugin. NAME is replaced by the family prefix, MOD by the module name.
GOOD = """
from zoo.hookspecs import hookimpl
from zoo.records import Family, Weights, Source, Recipe, WeightStore, KeyAdapter, License

def build(width=4):
    import torch.nn as nn  # heavy imports only when built
    return nn.Sequential(nn.Flatten(), nn.Linear(16, width), nn.ReLU(), nn.Linear(width, 10))

def runner(**params):
    return params

def fetch(uri, destination, progress=None):
    open(destination, "wb").close()

def adapt(state_dict):
    return state_dict

@hookimpl
def zoo_families():
    return [Family(name="NAME-net", modality="vision", builder="MOD:build", head="3",
                   builder_kwargs={"width": 8}, default_tag="v1",
                   preprocessing={"input_size": [1, 4, 4]})]

@hookimpl
def zoo_weights():
    return [Weights(arch="NAME-net", tag="v1", sha256="ab" * 32, license=License("MIT", "allowed"),
                    sources=(Source("NAME-store://NAME/v1.safetensors"),), publisher="VERSION")]

@hookimpl
def zoo_recipes():
    return [Recipe(name="NAME-recipe", description="a test recipe", runner="MOD:runner")]

@hookimpl
def zoo_weight_stores():
    return [WeightStore(scheme="NAME-store", opener="MOD:fetch")]

@hookimpl
def zoo_key_adapters():
    return [KeyAdapter(name="NAME-adapter", function="MOD:adapt", arch="NAME-net")]
"""


def stages(host: PluginHost, name: str) -> list[str]:
    return [e.stage for e in host.plugin(name).errors]


# -- loading ---------------------------------------------------------------------------


def test_plugin_loads_with_its_distribution_version_and_records(dists):
    module = dists.add("good", GOOD, version="1.2.3")
    host = host_of("good")
    info = host.plugin("good")
    assert (info.loaded, info.status, info.distribution, info.version, info.value) == (
        True,
        "ok",
        "zoo-test-good",
        "1.2.3",
        module,
    )
    assert info.hooks == ("zoo_families", "zoo_key_adapters", "zoo_recipes", "zoo_weight_stores", "zoo_weights")
    assert [f.name for f in info.families] == ["good-net"]
    assert list(host.weights()) == ["good-net.v1"]
    assert host.owner("families", "good-net") == "good"
    assert host.recipe("good-recipe").runner == f"{module}:runner"
    assert host.weight_store("good-store").opener == f"{module}:fetch"
    assert host.key_adapter_for("good-net").name == "good-adapter"
    assert host.failures == ()
    with pytest.raises(ZooNotFoundError, match="good-net"):
        host.family("good-nett")


def test_import_error_fails_only_that_plugin(dists):
    dists.add("broken", "import zoo_this_module_does_not_exist\n")
    dists.add("exits", "import sys\nsys.exit(3)\n")
    dists.add("good", GOOD)
    host = host_of("broken", "exits", "good")
    assert host.plugin("good").loaded
    for name, error in (("broken", "ModuleNotFoundError"), ("exits", "SystemExit")):
        info = host.plugin(name)
        assert (info.loaded, info.status, stages(host, name)) == (False, "failed", ["import"])
        assert error in info.errors[0].message and info.errors[0].plugin == name
    assert {f.plugin for f in host.failures} == {"broken", "exits"}


def test_a_hook_that_raises_fails_the_plugin_and_none_of_its_hooks_run(dists):
    dists.add(
        "raises",
        """
        from zoo.hookspecs import hookimpl
        from zoo.records import Family
        @hookimpl
        def zoo_families():
            return [Family(name="raises-net", modality="vision", builder="x:y")]
        @hookimpl
        def zoo_weights():
            raise RuntimeError("catalogue server down")
        @hookimpl
        def zoo_build(family, pretrained, num_classes):
            raise AssertionError("must never be called")
    """,
    )
    dists.add("good", GOOD)
    host = host_of("raises", "good")
    info = host.plugin("raises")
    assert not info.loaded and stages(host, "raises") == ["hook"]
    assert "zoo_weights raised RuntimeError: catalogue server down" in info.errors[0].message
    assert "raises-net" not in host.families() and not host.pm.has_plugin("raises")
    # the failed plugin's zoo_build is gone: the core's default builds the good family
    import torch

    with torch.device("meta"):
        assert isinstance(host.build(host.family("good-net")), torch.nn.Module)


@pytest.mark.parametrize(
    "body, message",
    [
        ('return {"name": "x"}', "must return a sequence of zoo.records.Family, not dict"),
        ('return ["resnet50"]', "item 0 is a str, not a zoo.records.Family"),
        ('return [Weights(arch="x", tag="y")]', "item 0 is a Weights, not a zoo.records.Family"),
        ('f = Family(name="dup", modality="vision", builder="a:b"); return [f, f]', "family 'dup' is declared twice"),
        (
            'f = Family(name="ok", modality="vision", builder="a:b"); '
            'object.__setattr__(f, "builder", "not an import string"); return [f]',
            "not an import string",
        ),
    ],
)
def test_a_malformed_record_fails_the_plugin(dists, body, message):
    dists.add(
        "malformed",
        f"""
        from zoo.hookspecs import hookimpl
        from zoo.records import Family, Weights
        @hookimpl
        def zoo_families():
            {body}
    """,
    )
    host = host_of("malformed")
    info = host.plugin("malformed")
    assert not info.loaded and stages(host, "malformed") == ["record"]
    assert message in info.errors[0].message


def test_plugins_declare_catalogue_weights_not_registered_models(dists):
    dists.add(
        "models",
        """
        from zoo.hookspecs import hookimpl
        from zoo.records import Weights
        @hookimpl
        def zoo_weights():
            return [Weights(arch="x", name="team/model")]
    """,
    )
    info = host_of("models").plugin("models")
    assert not info.loaded and "arch.tag" in info.errors[0].message


def test_unknown_and_unmarked_hooks_are_refused(dists):
    dists.add(
        "typo",
        """
        from zoo.hookspecs import hookimpl
        @hookimpl
        def zoo_familes():
            return []
    """,
    )
    dists.add(
        "unmarked",
        """
        def zoo_families():
            return []
    """,
    )
    dists.add(
        "wrapper",
        """
        from zoo.hookspecs import hookimpl
        @hookimpl(wrapper=True)
        def zoo_build(family, pretrained, num_classes):
            return (yield)
    """,
    )
    host = host_of("typo", "unmarked", "wrapper")
    assert "unknown hook 'zoo_familes' (did you mean 'zoo_families'?)" in host.plugin("typo").errors[0].message
    assert "not marked with @zoo.hookspecs.hookimpl" in host.plugin("unmarked").errors[0].message
    assert "cannot be implemented as a wrapper" in host.plugin("wrapper").errors[0].message
    assert not any(host.plugin(n).loaded for n in ("typo", "unmarked", "wrapper"))
    host.pm.check_pending()  # nothing unknown is left registered


def test_a_name_claimed_by_two_plugins_is_refused_for_both_naming_each_other(dists):
    dists.add("alpha", GOOD, family="shared")
    dists.add("beta", GOOD.replace('name="NAME-recipe"', 'name="beta-recipe"'), family="shared")
    host = host_of("alpha", "beta")
    alpha, beta = host.plugin("alpha"), host.plugin("beta")
    assert alpha.status == beta.status == "errors" and alpha.loaded and beta.loaded
    for me, other in ((alpha, "beta"), (beta, "alpha")):
        messages = " ".join(e.message for e in me.errors)
        for kind, key in (
            ("family", "shared-net"),
            ("weights", "shared-net.v1"),
            ("URI scheme", "shared-store"),
            ("key adapter", "shared-adapter"),
        ):
            assert f"{kind} {key!r} is claimed by plugin {me.name!r} and by plugin {other!r}" in messages
        assert all(e.stage == "conflict" for e in me.errors)
        assert me.families == () and me.weights == () and me.weight_stores == ()
    # nobody gets a contested name; each keeps what nobody else claimed
    assert host.owner("families", "shared-net") is None
    with pytest.raises(ZooNotFoundError):
        host.family("shared-net")
    assert [r.name for r in beta.recipes] == ["beta-recipe"] and [r.name for r in alpha.recipes] == ["shared-recipe"]
    # once one is gone, the other owns the names
    host.unregister("alpha")
    assert host.plugin("beta").status == "ok" and host.owner("families", "shared-net") == "beta"


def test_builtin_uri_schemes_cannot_be_claimed(dists):
    dists.add(
        "hijack",
        """
        from zoo.hookspecs import hookimpl
        from zoo.records import WeightStore
        @hookimpl
        def zoo_weight_stores():
            return [WeightStore(scheme="https", opener="MOD:fetch")]
    """,
    )
    info = host_of("hijack").plugin("hijack")
    assert "URI scheme 'https' is built in (served by zoo itself)" in info.errors[0].message
    assert info.weight_stores == ()


def test_two_distributions_with_one_plugin_name_and_two_entry_points_in_one_distribution(dists):
    dists.add("twin", GOOD, family="twin-a", dist="zoo-test-twin-a")
    dists.add("twin", GOOD, family="twin-b", dist="zoo-test-twin-b", version="2.0")
    dists.add("double", GOOD, extra_entries=("double2 = zt_whatever",))
    host = host_of("twin", "double", "double2")
    failed = [i for i in host.plugins if i.name == "twin" and not i.loaded]
    assert len(failed) == 1
    assert "claimed by zoo-test-twin-a and by zoo-test-twin-b" in failed[0].errors[0].message
    assert host.plugin("double").loaded
    assert "declares a second entry point" in host.plugin("double2").errors[0].message
    # the name stays taken even when its first claimant fails to import
    dists.add("solo", "raise ImportError('broken build')\n", dist="zoo-test-solo-a")
    dists.add("solo", GOOD, family="solo-b", dist="zoo-test-solo-b", version="2.0")
    solos = [i for i in host_of("solo").plugins if i.name == "solo"]
    assert [(i.loaded, i.errors[0].stage) for i in solos] == [(False, "import"), (False, "conflict")]


# -- selection and strict mode ---------------------------------------------------------


def test_allow_and_deny_lists(dists):
    for name in ("one", "two", "three"):
        dists.add(name, GOOD)
    loaded = lambda host: sorted(i.name for i in host.plugins if i.loaded and not i.core)  # noqa: E731
    assert loaded(PluginHost(env={"ZOO_PLUGINS": "one,three"})) == ["one", "three"]
    # distribution names match too, in any spelling
    assert loaded(PluginHost(env={"ZOO_PLUGINS": "zoo_test_two"})) == ["two"]
    host = PluginHost(env={"ZOO_PLUGINS": "one,two,three", "ZOO_DISABLE_PLUGINS": "two"})
    assert loaded(host) == ["one", "three"]
    assert host.plugin("two").status == "disabled" and host.plugin("two").disabled == "in ZOO_DISABLE_PLUGINS"
    assert loaded(PluginHost(env={"ZOO_PLUGINS": "none"})) == []
    assert loaded(PluginHost(plugins="none")) == []
    assert loaded(PluginHost(plugins=["two"], env={"ZOO_PLUGINS": "one"})) == ["two"]  # argument wins
    assert [i.name for i in PluginHost(plugins="none").plugins if i.loaded] == ["zoo"]  # the core stays
    missing = PluginHost(env={"ZOO_PLUGINS": "one,nope"})
    assert [(f.plugin, f.stage) for f in missing.failures] == [("nope", "select")]
    with pytest.raises(ZooValidationError, match="ZOO_PLUGINS"):
        PluginHost(env={"ZOO_PLUGINS": "one;rm -rf"})
    with pytest.raises(ZooValidationError, match="ZOO_STRICT_PLUGINS"):
        PluginHost(env={"ZOO_STRICT_PLUGINS": "maybe"})


def test_strict_mode_fails_loudly_after_trying_every_plugin(dists):
    dists.add("broken", "raise ImportError('no such backend')\n")
    dists.add("good", GOOD)
    with pytest.raises(ZooPluginError) as caught:
        host_of("broken", "good", strict=True)
    assert "plugin 'broken' (import)" in str(caught.value) and "no such backend" in str(caught.value)
    assert host_of("broken", "good").plugin("good").loaded  # not strict: a report, no error
    # the environment variable does the same, in a fresh process, for CI
    code = "from zoo.plugins import PluginHost; PluginHost(); print('survived')"
    lax = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dists.env(ZOO_PLUGINS="broken,good")
    )
    strict = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=dists.env(ZOO_PLUGINS="broken,good", ZOO_STRICT_PLUGINS="1"),
    )
    assert lax.returncode == 0 and "survived" in lax.stdout and "no such backend" in lax.stderr
    assert strict.returncode != 0 and "ZooPluginError" in strict.stderr and "survived" not in strict.stdout


def test_listing_plugins_imports_no_model_library(dists):
    dists.add("good", GOOD)
    dists.add("heavy", "import torch\n" + GOOD, family="heavy")
    code = (
        "import json, sys\nfrom zoo.plugins import PluginHost, plugins_report\n"
        "rows = plugins_report(PluginHost())\n"
        "print(json.dumps({'heavy': [m for m in ('torch', 'torchvision', 'timm', 'transformers')"
        " if m in sys.modules], 'rows': rows}))"
    )

    def run(plugins: str) -> dict:
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=dists.env(ZOO_PLUGINS=plugins), check=True
        )
        return json.loads(proc.stdout)

    light = run("good")
    assert light["heavy"] == []
    rows = [r for r in light["rows"] if r["status"] != "disabled"]
    assert [r["name"] for r in rows] == ["zoo", "good"] and rows[1]["families"] == 1
    heavy = run("good,heavy")
    (row,) = [r for r in heavy["rows"] if r["name"] == "heavy"]
    assert row["status"] == "ok" and "imported torch" in row["warnings"][0]


# -- building through the hooks --------------------------------------------------------


def test_the_core_builds_and_adapts_heads_lazily(dists):
    import torch

    dists.add("good", GOOD)
    host = host_of("good")
    family = host.family("good-net")
    with torch.device("meta"):
        model = host.build(family, pretrained=True)
        assert model[1].out_features == 8  # builder_kwargs reached the builder
        model = host.adapt_head(model, family, 3)
        assert model(torch.empty(2, 1, 4, 4)).shape == (2, 3) and model[3].weight.is_meta
        model = host.adapt_head(model, family, 0)
        assert isinstance(model[3], torch.nn.Identity) and model(torch.empty(2, 1, 4, 4)).shape == (2, 8)
    with pytest.raises(ZooValidationError, match="num_classes"):
        host.adapt_head(model, family, -1)
    with pytest.raises(ZooPluginError, match="the head at '3' is a Identity"):
        host.adapt_head(model, family, 5)


@pytest.mark.parametrize(
    "family, message",
    [
        (
            Family(name="x", modality="vision", builder="zoo_no_such_module:build"),
            "builder of family 'x': cannot import 'zoo_no_such_module'",
        ),
        (
            Family(name="x", modality="vision", builder="zoo.records:no_such_builder"),
            "'zoo.records' has no attribute 'no_such_builder'",
        ),
        (
            Family(name="x", modality="vision", builder="zoo.records:Family", builder_kwargs={"depth": 3}),
            "does not accept builder_kwargs ['depth']",
        ),
        (Family(name="x", modality="vision", builder="os:getcwd"), "returned a str, not a torch.nn.Module"),
    ],
)
def test_build_failures_are_typed(family, message):
    host = PluginHost(plugins="none")
    with pytest.raises(ZooPluginError) as caught:
        host.build(family)
    assert message in str(caught.value)


def test_a_plugin_build_overrides_the_core_and_its_failure_names_it(dists):
    import torch

    dists.add("good", GOOD)
    dists.add(
        "custom",
        """
        from zoo.hookspecs import hookimpl
        @hookimpl
        def zoo_build(family, pretrained, num_classes):
            import torch.nn as nn
            if family.name == "good-net":
                return nn.Identity()
            if family.name == "bad-net":
                raise KeyError("no config")
            return None
    """,
    )
    host = host_of("good", "custom")
    assert isinstance(host.build(host.family("good-net")), torch.nn.Identity)
    with pytest.raises(ZooPluginError, match="plugin 'custom' failed in zoo_build for family 'bad-net'"):
        host.build(Family(name="bad-net", modality="vision", builder="a:b"))


# -- policy and audit observers --------------------------------------------------------


class _Policy:
    def __init__(self, answer):
        self.answer = answer

    @hookimpl
    def zoo_policy_check(self, record, purpose):
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_policy_checks(registry):
    from zoo.records import PolicyDecision

    registry.add_family(Family(name="resnet50", modality="vision", builder="a:b"))
    from zoo.testing import make_weights

    info = registry.register(make_weights())
    with registered_plugin(_Policy(None), name="quiet") as host:
        host.enforce_policy(info, "get")
        with registered_plugin(_Policy(PolicyDecision("licence", False, "non-commercial")), host=host, name="legal"):
            assert host.check_policy(info, "get")[0].rule == "legal:licence"
            with pytest.raises(ZooPolicyError, match="rule legal:licence .non-commercial."):
                host.enforce_policy(info, "finetune")
        host.enforce_policy(info, "get")  # unregistered again
        with registered_plugin(_Policy(RuntimeError("LDAP down")), host=host, name="flaky"):
            with pytest.raises(ZooPluginError, match="'flaky'.s policy check raised RuntimeError: LDAP down"):
                host.enforce_policy(info, "get")
        with registered_plugin(_Policy("yes"), host=host, name="sloppy"):
            with pytest.raises(ZooPluginError, match="returned a str, not a PolicyDecision"):
                host.enforce_policy(info, "get")
        with pytest.raises(ZooValidationError, match="purpose"):
            host.check_policy(info, "Steal everything!")  # a team's own purpose is a short lower-case word


# -- syncing into the registry ---------------------------------------------------------

OBSERVERS = """
from zoo.hookspecs import hookimpl
SEEN = []
@hookimpl
def zoo_audit_event(event):
    SEEN.append(event)
"""
RAISING_OBSERVER = """
from zoo.hookspecs import hookimpl
@hookimpl
def zoo_audit_event(event):
    raise ConnectionError("SIEM unreachable")
"""


def test_sync_is_idempotent_and_audited_with_plugin_and_version(dists, registry):
    dists.add("good", GOOD, version="1.0")
    recorder = dists.add("recorder", OBSERVERS)
    dists.add("noisy", RAISING_OBSERVER)
    host = host_of("good", "recorder", "noisy")
    (report,) = sync_registry(registry, host)
    assert (report.plugin, report.plugin_version, report.ok) == ("good", "1.0", True)
    assert report.families_added == ("good-net",) and report.weights_added == ("good-net.v1",)
    events = [e for e in registry.history() if e.plugin != "zoo"]  # not the core's datasets
    assert [(e.action, e.plugin, e.plugin_version) for e in events] == [
        ("family.register", "good", "1.0"),
        ("weights.register", "good", "1.0"),
    ]
    # observers saw the committed events, with their sequence numbers; the raising one is ignored
    assert [e.seq for e in sys.modules[recorder].SEEN if e.plugin != "zoo"] == [e.seq for e in events]
    # ... and reported for each event it missed (the core's dataset events too)
    assert [(f.plugin, f.stage) for f in host.observer_failures] == [("noisy", "hook")] * len(registry.history())
    assert "SIEM unreachable" in host.observer_failures[0].message
    assert registry.observers == []  # the host's observer was attached for the sync only

    (again,) = sync_registry(registry, host)
    assert (
        not again.changed
        and again.unchanged == 1
        and len(registry.history()) == 2 + len([e for e in registry.history() if e.plugin == "zoo"])
    )

    # a new version that edits a record: one update event naming the new version
    dists.add("good", GOOD.replace('publisher="VERSION"', 'publisher="edited"'), version="2.0", dist="zoo-test-good-v2")
    host2 = PluginHost(plugins=["zoo-test-good-v2"], disable=())
    (update,) = sync_registry(registry, host2)
    assert update.weights_changed == ("good-net.v1",) and update.plugin_version == "2.0"
    last = registry.history()[-1]
    assert (last.action, last.plugin, last.plugin_version) == ("weights.update", "good", "2.0")
    assert last.before["publisher"] == "1.0" and last.after["publisher"] == "edited"
    assert registry.resolve("good-net.v1").plugin_version == "2.0"
    assert registry.verify_audit().ok


def test_a_name_the_registry_holds_stays_with_its_owner(dists, registry):
    # "owner" put shared-net into the registry earlier; now "claimer" declares it too.
    dists.add("owner", GOOD, family="shared")
    sync_registry(registry, host_of("owner"))
    dists.add("claimer", GOOD, family="shared")
    dists.add("zeta", GOOD)
    host = host_of("claimer", "zeta")
    reports = {r.plugin: r for r in sync_registry(registry, host)}
    assert "claimer" not in reports  # all it declared belongs to owner: nothing to sync, nothing failed
    messages = " ".join(e.message for e in host.plugin("claimer").errors)
    assert "family 'shared-net' belongs to plugin 'owner' in the registry" in messages
    assert "zoo plugins transfer owner claimer" in messages
    assert reports["zeta"].ok and reports["zeta"].weights_added == ("zeta-net.v1",)
    assert registry.resolve("shared-net.v1").plugin == "owner"
    # with the owner installed too, the owner keeps its names whatever the load order
    both = host_of("claimer", "owner")
    sync_registry(registry, both)
    assert both.owner("families", "shared-net") == "owner" and both.owner("weights", "shared-net.v1") == "owner"
    assert [f.name for f in both.plugin("owner").families] == ["shared-net"]
    # (the recipe, store and key adapter are not registry records: still refused for both)
    assert not any("shared-net" in e.message for e in both.plugin("owner").errors)


def test_a_failing_sync_does_not_stop_the_others(dists, registry):
    dists.add(
        "broken",
        """
        from zoo.hookspecs import hookimpl
        from zoo.records import Weights, Source
        @hookimpl
        def zoo_weights():
            return [Weights(arch="nowhere-net", tag="v1", sources=(Source("https://x.example/w"),))]
    """,
    )
    dists.add("zeta", GOOD)
    host = host_of("broken", "zeta")
    reports = {r.plugin: r for r in sync_registry(registry, host)}
    assert not reports["broken"].ok and "nowhere-net" in reports["broken"].error
    assert reports["zeta"].ok and reports["zeta"].weights_added == ("zeta-net.v1",)
    with pytest.raises(ZooPluginError, match="broken"):
        sync_registry(registry, host, strict=True)


def test_weights_for_another_plugins_family_sync_after_it(dists, registry):
    dists.add("zz-family", GOOD, family="base")
    dists.add(
        "aa-extra",
        """
        from zoo.hookspecs import hookimpl
        from zoo.records import Weights, Source
        @hookimpl
        def zoo_weights():
            return [Weights(arch="base-net", tag="extra", sources=(Source("https://x.example/w"),))]
    """,
    )
    reports = sync_registry(registry, host_of("aa-extra", "zz-family"))
    assert [r.plugin for r in reports] == ["zz-family", "aa-extra"] and all(r.ok for r in reports)
    assert registry.resolve("base-net.extra").plugin == "aa-extra"


def test_ensure_synced_only_syncs_when_the_installed_plugins_change(dists, registry):
    module = dists.add("first", GOOD)
    host = host_of("first", "second")  # "second" is not installed: a select failure
    assert [r.plugin for r in ensure_synced(registry, host)] == ["first"]
    assert registry.get_setting(FINGERPRINT_SETTING) is None  # incomplete: retried next time
    host = host_of("first")
    assert [r.plugin for r in ensure_synced(registry, host)] == ["first"]
    fingerprint = registry.get_setting(FINGERPRINT_SETTING)
    assert fingerprint == installed_fingerprint(host.selection)
    events = len(registry.history())
    assert ensure_synced(registry, host) == [] and len(registry.history()) == events
    # `pip install -U`: a new version of the distribution, with an edited record
    (dist_info,) = dists.root.glob("zoo_test_first-*.dist-info")
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: zoo-test-first\nVersion: 1.1\n")
    source = (dists.root / f"{module}.py").read_text()
    (dists.root / f"{module}.py").write_text(source.replace('publisher="1.0"', 'publisher="1.1 upgraded"'))
    del sys.modules[module]
    host = host_of("first")
    assert installed_fingerprint(host.selection) != fingerprint
    (report,) = ensure_synced(registry, host)
    assert report.weights_changed == ("first-net.v1",) and report.plugin_version == "1.1"
    assert ensure_synced(registry, host) == []
    assert [r.plugin for r in ensure_synced(registry, host, force=True)] == ["first"]
    with pytest.raises(ZooValidationError, match="kept by the registry"):
        registry.set_setting("audit_head", "0" * 64)


# -- the testing helper and `zoo plugins` ----------------------------------------------


def test_check_plugin_passes_a_good_plugin_and_lists_every_problem_of_a_bad_one(dists):
    dists.add("good", GOOD)
    dists.add("good-again", GOOD)
    result = check_plugin(_import(dists, "good-again"))
    assert result.ok and result.families == ("good-again-net",)
    dists.add(
        "sloppy",
        """
        from zoo.hookspecs import hookimpl
        from zoo.records import Family, Weights, Source, Recipe, KeyAdapter
        def build():
            return "not a module"
        @hookimpl
        def zoo_families():
            return [Family(name="sloppy-net", modality="vision", builder="MOD:build", head="fc")]
        @hookimpl
        def zoo_weights():
            return [Weights(arch="nobody-net", tag="v1", sources=(Source("nostore://bucket/w"),))]
        @hookimpl
        def zoo_recipes():
            return [Recipe(name="sloppy", description="d", runner="MOD:missing")]
        @hookimpl
        def zoo_key_adapters():
            return [KeyAdapter(name="sloppy-adapter", function="MOD:build", weights="sloppy-net.v9")]
    """,
    )
    with pytest.raises(ZooPluginError) as caught:
        check_plugin(_import(dists, "sloppy"), lazy_imports=False)
    text = str(caught.value)
    for expected in (
        "returned a str, not a torch.nn.Module",
        "names architecture 'nobody-net'",
        "no weight store serves nostore://",
        "has no attribute 'missing'",
        "names weights 'sloppy-net.v9'",
    ):
        assert expected in text
    report = check_plugin(_import(dists, "sloppy"), raise_on_error=False)
    assert not report.ok and len(report.problems) == 5


def _import(dists: FakeDistributions, name: str):
    import importlib

    return importlib.import_module(f"zt_{dists.tag}_{name.replace('-', '_')}_1_0")


def test_registered_plugin_releases_its_names():
    import types

    from zoo.hookspecs import hookimpl

    plugin = types.SimpleNamespace(
        zoo_families=hookimpl(lambda: [Family(name="temp-net", modality="vision", builder="a:b")])
    )
    host = PluginHost(plugins="none")
    with registered_plugin(plugin, host=host, name="temp"):
        assert host.owner("families", "temp-net") == "temp"
    assert "temp-net" not in host.families() and not host.pm.has_plugin("temp")
    bad = types.SimpleNamespace(zoo_families=hookimpl(lambda: 42))
    with pytest.raises(ZooPluginError, match="did not register cleanly"):
        with registered_plugin(bad, host=host, name="bad"):
            pass
    assert [i.name for i in host.plugins if not i.disabled] == ["zoo"]


def test_plugins_report_and_cli(dists):
    dists.add("good", GOOD)
    dists.add("broken", "raise ImportError('nope')\n")
    rows = {r["name"]: r for r in plugins_report(host_of("good", "broken"))}
    assert rows["good"]["status"] == "ok" and rows["good"]["version"] == "1.0"
    assert (
        rows["good"]["families"],
        rows["good"]["weights"],
        rows["good"]["recipes"],
        rows["good"]["weight_stores"],
        rows["good"]["key_adapters"],
    ) == (1, 1, 1, 1, 1)
    assert rows["broken"]["status"] == "failed" and "nope" in rows["broken"]["errors"][0]
    cli = [sys.executable, "-m", "zoo.cli", "plugins"]
    proc = subprocess.run(
        cli + ["--json"], capture_output=True, text=True, env=dists.env(ZOO_PLUGINS="good,broken", COLUMNS="200")
    )
    assert proc.returncode == 0, proc.stderr
    statuses = {r["name"]: r["status"] for r in json.loads(proc.stdout) if r["status"] != "disabled"}
    assert statuses == {"zoo": "ok", "good": "ok", "broken": "failed"}
    table = subprocess.run(cli, capture_output=True, text=True, env=dists.env(ZOO_PLUGINS="good,broken", COLUMNS="200"))
    assert table.returncode == 0 and "zoo-test-good" in table.stdout and "nope" in table.stdout
    strict = subprocess.run(
        cli,
        capture_output=True,
        text=True,
        env=dists.env(ZOO_PLUGINS="good,broken", ZOO_STRICT_PLUGINS="1", COLUMNS="200"),
    )
    assert strict.returncode == 1 and "plugin 'broken' (import)" in strict.stderr


def test_installed_fingerprint_reads_metadata_only(dists):
    module = dists.add("lazy", "raise RuntimeError('imported!')\n")
    selection = PluginSelection(allow=("lazy",))
    assert installed_fingerprint(selection) == installed_fingerprint(replace(selection))
    assert installed_fingerprint(selection) != installed_fingerprint(PluginSelection(allow=()))
    assert module not in sys.modules


def test_first_party_host_is_strict_and_lists_versions(dists):
    from zoo.plugins import first_party_host

    dists.add("good", GOOD, version="3.1")
    assert first_party_host(["good"]).plugin_versions() == [("good", "3.1")]
    dists.add("broken", "raise ImportError('x')\n")
    with pytest.raises(ZooPluginError, match="broken"):
        first_party_host(["good", "broken"])


def test_registry_observers_see_committed_events_and_cannot_break_a_write(registry_url):
    from zoo.registry import Registry

    seen = []

    def broken(events):
        raise RuntimeError("observer bug")

    with Registry(registry_url, actor="tester@zoo", observers=[broken, seen.extend]) as registry:
        registry.add_family(Family(name="resnet50", modality="vision", builder="a:b"))
        assert [(e.seq, e.action) for e in seen] == [(1, "family.register")]
        assert registry.families()[0].name == "resnet50"  # committed despite the broken observer
        with pytest.raises(ZooValidationError):
            registry.add_family("not a family")
        assert len(seen) == 1  # nothing written, nothing observed
