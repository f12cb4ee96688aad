"""The anatomy accuracy harness runs end to end on a tiny subset (phantoms; no data needed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# benchmarks/ is a folder of scripts at the repository root, not part of the installed package
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import anatomy_accuracy as bench  # noqa: E402
from benchmarks.anatomy_cases import axial  # noqa: E402


def test_discovers_axial_cases() -> None:
    mods = {m.__name__.rsplit(".", 1)[-1] for m in bench.discover()}
    assert "axial" in mods


def test_score_counts_detections_and_false_failures() -> None:
    cases = [c for c in axial.spine_cases(seeds=1) if c.region == "lumbar_spine"]
    tallies, n = bench.score(cases, list(bench.ANATOMY_CHECKS), progress=False)
    assert n == len(cases) == 5  # 2 normal counts, 2 wrong counts, 1 fused
    t = tallies["spine.vertebra_count"]
    assert t.ok_phantom_n == 2 and t.ok_phantom_fail == 0
    assert t.detect_n["wrong_vertebra_count"] == 2 and t.detect_hit["wrong_vertebra_count"] == 2
    assert tallies["spine.spacing"].detect_n["fused_level"] == 1
    assert tallies["anatomy.plausible"].applied == 5


def test_main_prints_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t.json"
    rc = bench.main(["--data", str(tmp_path), "--cases", "axial", "--region", "lumbar_spine", "--quick", "4",
                     "--no-timing", "--json", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "| spine.vertebra_count |" in text and "| anatomy.plausible |" in text
    assert out.is_file()


def test_timing_runs_on_one_case() -> None:
    case = next(iter(axial.spine_cases(seeds=1)))
    t = bench.timings([case], [bench.check_spec("spine.vertebra_count")], sides=(128,), per_region=1)
    assert t["spine.vertebra_count"][128] > 0
