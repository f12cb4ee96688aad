"""The SQLite run store: batch atomicity, exactly-once keys, shared databases, exports."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

import _fakes
from anatscore.api import evaluate
from anatscore.store import LOAD_FAILED, LOAD_OK, ImageRecord, RunStore, list_runs
from anatscore.types import CheckResult, ImageMeta


def _rec(i: int, passed: bool | None = True) -> ImageRecord:
    meta = ImageMeta(image_id=f"im{i}", path=f"im{i}.png", region="hand", inferred={"modality": "x"})
    return ImageRecord(meta, LOAD_OK, "", [CheckResult("load", None, True, "ok"),
                                           CheckResult("c.one", float(i), passed, "why")])


def test_batch_is_one_transaction_and_duplicates_are_refused(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "db.sqlite", "run-a")
    store.create_run("/in", str(tmp_path), "t0", {"checks": []})
    store.commit_batch([_rec(0), _rec(1)])
    with pytest.raises(sqlite3.IntegrityError):
        store.commit_batch([_rec(2), _rec(1)])  # im1 again: the whole batch must roll back
    assert store.done_ids() == {"im0", "im1"}
    assert len(store.checks_frame()) == 4
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_passed_round_trips_as_true_false_empty(tmp_path: Path) -> None:
    store = RunStore(":memory:", "r")
    store.create_run("", "", "t0", {})
    store.commit_batch([_rec(0, True), _rec(1, False), _rec(2, None)])
    df = store.checks_frame()
    got = df[df["check"] == "c.one"]["passed"].tolist()
    assert got == [True, False, None]
    rates = store.pass_rates().set_index("check")
    assert rates.loc["c.one", "passed"] == 1 and rates.loc["c.one", "failed"] == 1
    assert rates.loc["c.one", "not_applicable"] == 1 and rates.loc["c.one", "pass_rate"] == pytest.approx(0.5)
    imgs = store.images_frame(["c.one"]).set_index("image_id")
    assert imgs.loc["im1", "c.one"] is False and imgs.loc["im2", "c.one"] is None
    assert imgs.loc["im1", "n_failed"] == 1 and imgs.loc["im1", "failed_checks"] == "c.one"
    assert imgs.loc["im2", "n_checks"] == 0
    assert imgs.loc["im0", "inferred"] == "modality=x"


def test_counts_by_load_status(tmp_path: Path) -> None:
    store = RunStore(":memory:", "r")
    store.create_run("", "", "t0", {})
    bad = ImageRecord(ImageMeta(image_id="b", path="b.png"), LOAD_FAILED, "truncated",
                      [CheckResult("load", None, False, "truncated")])
    store.commit_batch([_rec(0), bad])
    assert store.counts() == {"ok": 1, "failed": 1, "refused": 0}


def test_two_runs_share_one_database(monkeypatch, tmp_path: Path) -> None:
    _fakes.install(monkeypatch)
    _fakes.write_pngs(tmp_path / "a", 2)
    _fakes.write_pngs(tmp_path / "b", 3)
    db = tmp_path / "all.sqlite"
    ra = evaluate(tmp_path / "a", out=tmp_path / "run_a", db=db)
    rb = evaluate(tmp_path / "b", out=tmp_path / "run_b", db=db)
    runs = list_runs(db)
    assert {r["run_id"] for r in runs} == {ra.manifest["run_id"], rb.manifest["run_id"]}
    assert all(r["status"] == "finished" for r in runs)
    conn = sqlite3.connect(db)
    per_run = dict(conn.execute("SELECT run_id, COUNT(*) FROM images GROUP BY run_id").fetchall())
    conn.close()
    assert per_run == {ra.manifest["run_id"]: 2, rb.manifest["run_id"]: 3}
    assert not (tmp_path / "run_a" / "anatscore.sqlite").exists()
    # a shared-db run resumes from its own run.json, which names the database
    again = evaluate(None, resume=tmp_path / "run_b")
    assert again.counts["images"] == 3 and again.manifest["invocations"][-1]["already_done"] == 3


def test_run_folder_files(monkeypatch, tmp_path: Path) -> None:
    _fakes.install(monkeypatch)
    _fakes.write_pngs(tmp_path / "in", 3)
    (tmp_path / "in" / "bad.png").write_bytes(b"junk")
    res = evaluate(tmp_path / "in", out=tmp_path / "run")
    run = tmp_path / "run"
    for f in ("checks.csv", "images.csv", "metrics.json", "run.json", "report.html", "anatscore.sqlite"):
        assert (run / f).is_file(), f
    checks = pd.read_csv(run / "checks.csv", keep_default_na=False, dtype=str)
    assert list(checks.columns[:6]) == ["image_id", "path", "check", "value", "passed", "reason"]
    assert set(checks["passed"]) == {"true", "false", ""}
    images = pd.read_csv(run / "images.csv", keep_default_na=False, dtype=str)
    for col in ("path", "sha256", "size_bytes", "width", "height", "modality", "region", "view", "task", "prompt",
                "backend", "seed", "load_status", "load_reason", "inferred", "load", "fake.mean", "n_checks",
                "n_failed", "failed_checks"):
        assert col in images.columns, col
    bad = images.set_index("image_id").loc["bad.png"]
    assert bad["load_status"] == "failed" and bad["load"] == "false" and bad["load_reason"]
    import hashlib

    assert bad["sha256"] == hashlib.sha256(b"junk").hexdigest()
    manifest = json.loads((run / "run.json").read_text())
    for key in ("anatscore_version", "python", "platform", "versions", "device", "config", "models", "input_dir",
                "started", "finished", "counts"):
        assert key in manifest, key
    assert manifest["counts"] == res.counts == {"images": 4, "scored": 3, "failed": 1, "refused": 0,
                                                "check_errors": 3}
    assert json.loads((run / "metrics.json").read_text())["strata"] == []
    html = (run / "report.html").read_text()
    assert "fake.mean" in html and "bad.png" in html and "<script" not in html


def test_existing_run_folder_is_never_overwritten(monkeypatch, tmp_path: Path) -> None:
    from anatscore.api import RunExistsError

    _fakes.install(monkeypatch)
    _fakes.write_pngs(tmp_path / "in", 1)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "keep.txt").write_text("mine")
    with pytest.raises(RunExistsError):
        evaluate(tmp_path / "in", out=tmp_path / "run")
    assert (tmp_path / "run" / "keep.txt").read_text() == "mine"


def test_report_has_thumbnails_of_failing_images_and_backend_rates(monkeypatch, tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    _fakes.install(monkeypatch)
    src = tmp_path / "in"
    _fakes.write_pngs(src, 2)
    bright = np.full((300, 200), 240, np.uint8)
    bright[::2] = 250
    Image.fromarray(bright).save(src / "bright.png")  # fake.mean fails (mean > 0.5)
    (src / "manifest.csv").write_text("path,backend\nbright.png,gen-b\nimg_000.png,gen-a\nimg_001.png,gen-a\n")
    res = evaluate(src, out=tmp_path / "run")
    store = RunStore(tmp_path / "run" / "anatscore.sqlite", res.manifest["run_id"])
    thumbs = store.thumbnails()
    store.close()
    assert set(thumbs) == {"bright.png"}
    im = Image.open(__import__("io").BytesIO(thumbs["bright.png"]))
    assert max(im.size) == 128 and im.size == (85, 128)
    html = (tmp_path / "run" / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 1
    if set(res.images["backend"]) == {"gen-a", "gen-b"}:  # the manifest reader (anatscore.io) is present
        assert "Pass rate by backend" in html


def test_two_processes_write_one_database_at_once(tmp_path: Path) -> None:
    """Concurrent runs on one --db: WAL + BEGIN IMMEDIATE with a busy timeout, no 'database is locked'."""
    import os
    import subprocess
    import sys

    tests = Path(__file__).resolve().parent
    script = ("import sys; sys.path.insert(0, %r); import _fakes; _fakes.install_plain(batched=False); "
              "from anatscore.cli import main; sys.exit(main(sys.argv[1:]))" % str(tests))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tests.parent), os.environ.get("PYTHONPATH", "")]))
    db = tmp_path / "shared.sqlite"
    procs = []
    for name in ("a", "b"):
        _fakes.write_pngs(tmp_path / name, 12)
        procs.append(subprocess.Popen(
            [sys.executable, "-c", script, "evaluate", str(tmp_path / name), "--out", str(tmp_path / f"run_{name}"),
             "--db", str(db), "--batch-size", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for p in procs:
        _, err = p.communicate()
        assert p.returncode == 0, err
    conn = sqlite3.connect(db)
    per_run = sorted(n for (n,) in conn.execute("SELECT COUNT(*) FROM images GROUP BY run_id"))
    statuses = {s for (s,) in conn.execute("SELECT status FROM runs")}
    conn.close()
    assert per_run == [12, 12] and statuses == {"finished"}
