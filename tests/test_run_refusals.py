"""Refusal statistics in the run outputs: refusals.csv, report.html, run.json and --json."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import _fakes
from anatscore.cli import main


def test_refusals_in_run_folder(monkeypatch, tmp_path: Path, capsys) -> None:
    _fakes.install(monkeypatch)
    src = tmp_path / "in"
    _fakes.write_pngs(src, 3)
    rows = [  # dalle2: 2 of 3 haemorrhage attempts refused; sd15: nothing refused
        ("img_000.png", "CT head with intracranial hemorrhage", "dalle2", "false"),
        ("", "CT head with intracranial hemorrhage", "dalle2", "true"),
        ("gone.png", "MRI, subdural haematoma", "dalle2", "true"),  # refused: a missing file is fine
        ("img_001.png", "x-ray of a knee", "dalle2", "false"),
        ("img_002.png", "CT head with intracranial hemorrhage", "sd15", "false"),
    ]
    (src / "manifest.csv").write_text("path,prompt,backend,refused\n"
                                      + "".join(f'{p},"{q}",{b},{r}\n' for p, q, b, r in rows))
    run = tmp_path / "run"
    assert main(["evaluate", str(src), "--out", str(run), "--json", "--checks", "fake.mean"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["counts"]["refused"] == 2 and doc["counts"]["scored"] == 3

    with open(run / "refusals.csv", newline="") as fh:
        table = {(r["backend"], r["category"]): r for r in csv.DictReader(fh)}
    dalle_all, dalle_h = table[("dalle2", "all")], table[("dalle2", "haemorrhage")]
    assert (dalle_all["attempts"], dalle_all["refused"]) == ("4", "2")
    assert (dalle_h["attempts"], dalle_h["refused"], dalle_h["refusal_rate"]) == ("3", "2", "0.6667")
    assert (dalle_h["prompts"], dalle_h["prompts_refused"]) == ("2", "2")
    assert json.loads(dalle_h["refused_terms"]) == {"haematoma": 1, "hemorrhage": 1}
    assert table[("dalle2", "uncategorised")]["refused"] == "0"
    assert (table[("sd15", "haemorrhage")]["attempts"], table[("sd15", "haemorrhage")]["refused"]) == ("1", "0")

    manifest = json.loads((run / "run.json").read_text())
    by_key = {(r["backend"], r["category"]): r for r in manifest["refusals"]}
    assert by_key[("dalle2", "haemorrhage")]["refused"] == 2 and "examples" not in by_key[("dalle2", "all")]
    assert doc["refusals"] == manifest["refusals"]
    html = (run / "report.html").read_text()
    assert "<h2>Refused generations</h2>" in html and "2 / 3" in html and "haematoma x1" in html


def test_no_refusals_no_report_section(monkeypatch, tmp_path: Path, capsys) -> None:
    _fakes.install(monkeypatch)
    _fakes.write_pngs(tmp_path / "in", 2)
    run = tmp_path / "run"
    assert main(["evaluate", str(tmp_path / "in"), "--out", str(run), "--checks", "fake.mean"]) == 0
    assert "Refused generations" not in (run / "report.html").read_text()
    lines = (run / "refusals.csv").read_text().splitlines()
    assert lines[0].startswith("backend,category,attempts,refused") and lines[1].startswith(",all,2,0,0.0000,0,0,")
