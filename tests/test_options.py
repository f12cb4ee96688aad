"""Per-check options: ``--option NAMESPACE.KEY=VALUE`` parsing, reaching the checks, resume rules."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

import _fakes
from anatscore.cli import main
from anatscore.options import KNOWN_OPTIONS, OptionError, parse_option, parse_options, unknown_options


def test_parse_option_splits_at_the_last_dot_and_parses_json() -> None:
    assert parse_option("xrv.pathology.normal_reference=/data/normals") == \
        ("xrv.pathology", "normal_reference", "/data/normals")
    assert parse_option("classify.backend=gallery") == ("classify", "backend", "gallery")
    assert parse_option("xrv.ctr.ctr_range=[0.35, 0.6]") == ("xrv.ctr", "ctr_range", [0.35, 0.6])
    assert parse_option("xrv.ood.max_error=0.02") == ("xrv.ood", "max_error", 0.02)
    assert parse_option("x.flag=true") == ("x", "flag", True)
    assert parse_option("x.path=a=b") == ("x", "path", "a=b")  # only the first '=' splits
    assert parse_options(["a.k=1", "a.j=x", "a.k=2"]) == {"a": {"k": 2, "j": "x"}}  # later wins
    for bad in ("classify.backend", "backend=clip", "=1", "classify.=1"):
        with pytest.raises(OptionError):
            parse_option(bad)


def test_unknown_options_flag_typos_but_accept_check_names() -> None:
    notes = unknown_options({"classify": {"backnd": "clip"}, "xrv.pathology": {"variant": "x"},
                             "hand.digits": {"min": 4}, "clasify": {"backend": "clip"}}, ["hand.digits"])
    assert len(notes) == 2
    assert "no known check reads key 'backnd'" in notes[0] and "'clasify'" in notes[1]
    assert all("." not in key for keys in KNOWN_OPTIONS.values() for key in keys)  # CLI splits at the last dot


def test_cli_option_reaches_the_check_and_run_json(monkeypatch, tmp_path: Path, capsys, caplog) -> None:
    _fakes.install(monkeypatch)
    _fakes.write_pngs(tmp_path / "in", 4)  # means 20, 30, 40, 50 of 255: all < 0.5
    run = tmp_path / "run"
    with caplog.at_level(logging.WARNING):
        rc = main(["evaluate", str(tmp_path / "in"), "--out", str(run), "--json", "--checks", "fake.mean",
                   "--option", "fake.mean.max=0.15", "--option", "fake.mean.note=not json"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["checks"]["fake.mean"]["passed"] == 2  # 20/255 and 30/255 below 0.15; 40 and 50 not
    cfg = json.loads((run / "run.json").read_text())["config"]
    assert cfg["options"] == {"fake.mean": {"max": 0.15, "note": "not json"}}
    assert not [r for r in caplog.records if "option" in r.getMessage()]  # a check name: no warning
    # resume must measure the same thing: the same options are fine, other ones are refused
    assert main(["evaluate", "--resume", str(run), "--option", "fake.mean.max=0.15",
                 "--option", "fake.mean.note=not json"]) == 0
    assert main(["evaluate", "--resume", str(run), "--option", "fake.mean.max=0.9"]) == 2
    assert "cannot change options" in capsys.readouterr().err


def test_cli_bad_or_unknown_option(monkeypatch, tmp_path: Path, capsys, caplog) -> None:
    _fakes.install(monkeypatch)
    _fakes.write_pngs(tmp_path / "in", 1)
    assert main(["evaluate", str(tmp_path / "in"), "--out", str(tmp_path / "r1"), "--option", "backend"]) == 2
    assert "is not NAMESPACE.KEY=VALUE" in capsys.readouterr().err
    assert not (tmp_path / "r1").exists()
    with caplog.at_level(logging.WARNING):
        assert main(["evaluate", str(tmp_path / "in"), "--out", str(tmp_path / "r2"),
                     "--option", "clasify.backend=gallery"]) == 0
    assert any("'clasify' is neither a check name" in r.getMessage() for r in caplog.records)


def test_list_options(capsys) -> None:
    assert main(["list", "options", "--json"]) == 0
    rows = {r["option"]: r for r in json.loads(capsys.readouterr().out)}
    assert {"classify.backend", "xrv.pathology.normal_reference", "xrv.ood.max_error"} <= set(rows)
    assert main(["list", "options"]) == 0
    assert "xrv.pathology.normal_reference" in capsys.readouterr().out


def test_set_fills_what_images_do_not_carry(monkeypatch, tmp_path: Path, capsys) -> None:
    _fakes.install(monkeypatch)
    src = tmp_path / "in"
    _fakes.write_pngs(src, 3)
    (src / "manifest.csv").write_text("path,region\nimg_000.png,hand\n")  # img_001/2: not listed
    run = tmp_path / "run"
    assert main(["evaluate", str(src), "--out", str(run), "--json", "--checks", "fake.*",
                 "--set", "region=Knee", "--set", "modality=X-ray"]) == 0
    doc = json.loads(capsys.readouterr().out)
    import pandas as pd

    img = pd.read_csv(run / "images.csv", keep_default_na=False).set_index("path")
    assert img.loc["img_000.png", "region"] == "hand" and img.loc["img_001.png", "region"] == "knee"
    assert img.loc["img_001.png", "inferred"] == "modality=set;region=set"
    assert img.loc["img_000.png", "inferred"] == "modality=set"  # the manifest's region wins
    assert json.loads((run / "run.json").read_text())["config"]["defaults"] == {"region": "knee", "modality": "xray"}
    assert doc["checks"]["fake.hand_only"]["judged"] == 1  # only img_000 is a hand
    html = (run / "report.html").read_text()
    assert "<code>region=knee</code>" in html  # the report says what was set for the whole folder
    assert "<td>applies to region hand, image is knee</td>" in html  # and why a check did not apply
    # resume keeps them; a different --set is refused
    assert main(["evaluate", "--resume", str(run), "--set", "region=hand"]) == 2
    assert "cannot change defaults" in capsys.readouterr().err


@pytest.mark.parametrize("arg, message", [("refused=true", "cannot set refused"), ("region=toe", "region"),
                                          ("region", "is not FIELD=VALUE")])
def test_set_usage_errors(monkeypatch, tmp_path: Path, capsys, arg: str, message: str) -> None:
    _fakes.install(monkeypatch)
    _fakes.write_pngs(tmp_path / "in", 1)
    assert main(["evaluate", str(tmp_path / "in"), "--out", str(tmp_path / "run"), "--set", arg]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_no_verdict_images_are_counted_and_explained(monkeypatch, tmp_path: Path, capsys) -> None:
    _fakes.install(monkeypatch)
    _fakes.write_pngs(tmp_path / "in", 2)
    assert main(["evaluate", str(tmp_path / "in"), "--out", str(tmp_path / "run"), "--json",
                 "--checks", "fake.hand_only"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert doc["images_without_verdict"] == 2
    assert doc["checks"]["fake.hand_only"]["not_applicable_reason"].startswith("applies to region hand")
    assert "2 scored (0 with a failed check, 2 with no check that applied)" in err
    assert "no check applied to 2 of 2 scored images" in err


def test_manifest_outside_the_folder(monkeypatch, tmp_path: Path, capsys) -> None:
    _fakes.install(monkeypatch)
    src = tmp_path / "in"
    _fakes.write_pngs(src, 2)
    ext = tmp_path / "meta" / "gen.csv"
    ext.parent.mkdir()
    ext.write_text("path,region,prompt\nimg_000.png,hand,a PA hand radiograph\n")
    run = tmp_path / "run"
    assert main(["evaluate", str(src), "--out", str(run), "--json", "--checks", "fake.hand_only",
                 "--manifest", str(ext)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["checks"]["fake.hand_only"]["judged"] == 1
    assert json.loads((run / "run.json").read_text())["manifest_file"] == str(ext.resolve())
    other = tmp_path / "meta" / "other.csv"
    other.write_text("path\n")
    assert main(["evaluate", "--resume", str(run), "--manifest", str(other)]) == 2
    assert "read manifest" in capsys.readouterr().err
    assert main(["evaluate", "--resume", str(run)]) == 0  # reuses gen.csv
    assert json.loads((run / "run.json").read_text())["manifest_file"] == str(ext.resolve())
    assert main(["evaluate", str(src), "--out", str(tmp_path / "r2"), "--manifest", str(tmp_path / "nope.csv")]) == 2
