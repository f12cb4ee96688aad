"""`anatscore evaluate --extractors ...`: several extractors in one metrics.json; a missing
weights file is one clear message (naming the `anatscore weights` command), not a crash."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from anatscore.cli import main


def _pngs(folder: Path, n: int, bright: float, seed: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    yy, xx = np.mgrid[0:64, 0:64] / 64.0
    for i in range(n):
        g = np.clip(bright + 0.2 * np.sin(6 * xx + i) * yy + rng.normal(0, 0.08, (64, 64)), 0, 1)
        Image.fromarray((g * 255).round().astype(np.uint8)).save(folder / f"im{i:02d}.png")


def _metrics(tmp_path: Path, extractors: list[str]) -> dict:
    _pngs(tmp_path / "gen", 8, 0.55, 1)
    _pngs(tmp_path / "ref", 10, 0.4, 2)
    rc = main([
        "evaluate", str(tmp_path / "gen"), "--reference", str(tmp_path / "ref"), "--checks", "load",
        "--extractors", *extractors, "--out", str(tmp_path / "run"),
    ])
    assert rc == 0
    return json.loads((tmp_path / "run" / "metrics.json").read_text())


def test_missing_weights_is_one_message_and_other_extractors_still_run(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    doc = _metrics(tmp_path, ["radiomic", "inception"])  # isolated ANATSCORE_HOME: no inception weights
    (stratum,) = doc["strata"]
    assert stratum["n"] == 8 and stratum["n_reference"] == 10
    fid = stratum["metrics"]["fid@radiomic"]
    assert fid["value"] > 0 and fid["ci_low"] <= fid["value"] <= fid["ci_high"]
    assert stratum["metrics"]["precision@radiomic"]["value"] is not None
    # radiomic has no KID in this run: the small-n FID warning must not point to kid@radiomic
    assert "biased" in fid["warning"] and "kid@radiomic" not in fid["warning"]
    missing = stratum["metrics"]["fid@inception"]
    assert missing["value"] is None and "anatscore weights import inception-fid" in missing["warning"]
    assert [n for n in doc["notes"] if "inception" in n and "anatscore weights" in n]
    assert "anatscore weights" in doc["extractors"]["inception"]["error"]
    assert any("inception" in r.getMessage() and "anatscore weights" in r.getMessage() for r in caplog.records)
    from anatscore.metrics.realism import least_realistic

    worst = least_realistic(tmp_path / "run", k=3)
    assert len(worst) == 3 and {w.extractor for w in worst} == {"radiomic"}
    assert [w.realism for w in worst] == sorted(w.realism for w in worst) and worst[0].rank_in_stratum == 1
    report = (tmp_path / "run" / "report.html").read_text()
    section = report.split("<h2>Least realistic images</h2>", 1)[1].split("<h2>", 1)[0]
    assert worst[0].image_id in section and section.count("<tr>") == 1 + 5  # header + k=5 per stratum


def test_unknown_extractor_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", str(tmp_path), "--extractors", "nosuch"])
    assert exc.value.code == 2


@pytest.mark.slow
def test_fid_at_radiomic_beside_fid_at_inception(tmp_path: Path, inception_weights: Path) -> None:
    assert main(["weights", "import", "inception-fid", str(inception_weights)]) == 0
    doc = _metrics(tmp_path, ["inception", "radiomic"])
    (stratum,) = doc["strata"]
    for key in ("fid@inception", "kid@inception", "fid@radiomic", "coverage@radiomic"):
        e = stratum["metrics"][key]
        assert e["value"] is not None and e["ci_low"] <= e["value"] <= e["ci_high"], (key, e)
    assert set(doc["extractors"]) == {"inception", "radiomic"} and "error" not in doc["extractors"]["inception"]


def test_least_realistic_by_hand(tmp_path: Path) -> None:
    from anatscore.metrics.realism import least_realistic

    rows = [  # image_id, backend, extractor, knn_distance, realism, rank
        ("a", "sd", "inception", 5.0, 0.9, 2), ("b", "sd", "inception", 9.0, 0.5, 1), ("c", "sd", "inception", 1.0, float("nan"), 3),
        ("d", "dalle", "inception", 7.0, 0.5, 1), ("e", "dalle", "inception", 2.0, 1.4, 2), ("b", "sd", "radiomic", 1.0, 0.1, 1),
    ]
    lines = ["image_id,backend,modality,region,view,task,extractor,knn_distance,realism,rank_in_stratum"]
    lines += [f"{i},{b},xray,chest,pa,,{e},{d},{r},{k}" for i, b, e, d, r, k in rows]
    (tmp_path / "realism.csv").write_text("\n".join(lines) + "\n")
    got = least_realistic(tmp_path, k=4)  # inception preferred over radiomic
    assert [g.image_id for g in got] == ["b", "d", "a", "e"]  # 0.5 (dist 9) before 0.5 (dist 7)
    assert got[0].stratum == {"backend": "sd", "modality": "xray", "region": "chest", "view": "pa", "task": ""}
    assert [g.image_id for g in least_realistic(tmp_path, k=1, per_stratum=True)] == ["b", "d"]
    assert [g.image_id for g in least_realistic(tmp_path, k=9)][-1] == "c"  # NaN last
    assert [(g.image_id, g.realism) for g in least_realistic(tmp_path / "realism.csv", extractor="radiomic")] == [("b", 0.1)]
    assert least_realistic(tmp_path / "nothing") == []


def test_extractors_cannot_change_on_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--resume", str(tmp_path), "--extractors", "radiomic"]) == 2
    assert "--resume" in capsys.readouterr().err
