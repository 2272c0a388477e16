"""bench/team.py with tiny numbers: the concurrent clients run, and the check after the
run counts registrations from the registry's own rows (a bench bug would hide lost or
duplicated versions, so the checker itself is tested against rows it did not see)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _team():
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("team", ROOT / "bench" / "team.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["team"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_team_bench_runs_and_finds_no_lost_or_duplicated_versions(tmp_path):
    if os.environ.get("ZOO_TEST_SKIP_PG") == "1":
        pytest.skip("ZOO_TEST_SKIP_PG=1")
    team = _team()
    out = tmp_path / "team.md"
    code = team.main(
        [
            "--n",
            "300",
            "--batch",
            "300",
            "--clients",
            "2",
            "--ops",
            "12",
            "--register-every",
            "3",
            "--markdown",
            str(out),
        ]
    )
    text = out.read_text()
    assert code == 0, text
    cells = {
        line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
        for line in text.splitlines()
        if line.startswith("│")
    }
    for row in ("resolve p50", "resolve p99", "register p50", "register p99"):
        assert cells[row][0].endswith(" ms") and cells[row][1].endswith(" ms")
    for row in ("lost versions", "duplicated versions", "gaps versions", "phantoms versions"):
        assert cells[row][:2] == ["0", "0"], row
    assert cells["registered rows checked"][:2] == ["8", "4"]  # 2 clients x 4 registrations; 1 client x 4


def test_the_check_counts_what_the_rows_say(pg_schema_url):
    team = _team()
    from zoo.records import License, Weights
    from zoo.registry import Registry

    reg = Registry(pg_schema_url, actor="t@zoo")
    try:
        reg.add_family(_family())
        told = []
        for i in range(3):
            sha = f"{i:064x}"
            info = reg.register(Weights(arch="resnet50", name="team/shared-0", sha256=sha, license=License()))
            told.append((sha, info.qualified_name))
    finally:
        reg.close()
    assert team.check(pg_schema_url, "team", told) == {"rows": 3, "lost": 0, "duplicated": 0, "gaps": 0, "phantoms": 0}
    # One registration the client was told about is not there; one row nobody was told about.
    wrong = [*told[:2], ("f" * 64, "team/shared-0@4")]
    assert team.check(pg_schema_url, "team", wrong) == {"rows": 3, "lost": 1, "duplicated": 0, "gaps": 0, "phantoms": 1}
    dup = [*told, (told[0][0], told[0][1])]
    assert team.check(pg_schema_url, "team", dup)["duplicated"] == 1


def _family():
    from zoo.records import Family

    return Family(name="resnet50", modality="vision", builder="torchvision.models:resnet50", head="fc")
