"""The README's Python examples run as written on a fresh ZOO_HOME (one registry view:
``Registry()`` sees the installed plugins' records as the CLI and ``zoo.get`` do)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_the_readme_has_python_examples():
    blocks = python_blocks()
    assert len(blocks) >= 2 and "Registry()" in blocks[0] and "zoo.get(" in blocks[1]


def test_readme_examples_run_as_written_on_a_fresh_zoo_home(tmp_path):
    pytest.importorskip("zoo_timm")
    pytest.importorskip("sklearn")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ZOO_REGISTRY_URL", "ZOO_OFFLINE", "ZOO_PLUGINS", "ZOO_DISABLE_PLUGINS", "ZOO_POLICY")
    }
    env.update({"ZOO_HOME": str(tmp_path / "home"), "ZOO_OFFLINE": "1"})  # as written, and no network
    check = (
        "\nfrom zoo.registry import Registry as _R\n_r = _R()\n"
        "print('CHECK', _r.resolve('team/digits@prod').qualified_name,"
        " _r.resolve('team/digits-lite0').weights.parents[0].parent)\n"
    )
    code = "\n".join(python_blocks()) + check
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=900, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr[-3000:]
    (line,) = [x for x in out.stdout.splitlines() if x.startswith("CHECK")]
    assert line.split()[1:] == ["team/digits@1", "tf_efficientnet_lite0.lite0_in1k_pypi@1"]


def test_registry_opens_with_the_installed_plugins_records(tmp_path, monkeypatch):
    """Registry() on a fresh ZOO_HOME syncs; a named database is left as it is."""
    pytest.importorskip("zoo_torchvision")
    import zoo
    from zoo.errors import ZooNotFoundError

    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    monkeypatch.delenv("ZOO_REGISTRY_URL", raising=False)
    with zoo.Registry() as registry:
        assert registry.resolve("resnet50.imagenet1k_v2").plugin == "torchvision"
        synced = registry.count()
    with zoo.Registry(f"sqlite:///{tmp_path / 'other.db'}") as other:
        with pytest.raises(ZooNotFoundError):
            other.resolve("resnet50.imagenet1k_v2")
    with zoo.Registry(f"sqlite:///{tmp_path / 'other.db'}", sync=True) as other:
        assert other.count() == synced
