"""Resume after ``kill -9``: a real subprocess is SIGKILLed mid-run, then resumed.

Deterministic, no timing: the fake check ``fake.slow`` hangs forever on one chosen image (named by
``$ANATSCORE_TEST_HANG_AT``) after writing a flag file, so when the flag appears the process is
certainly inside a batch whose records are not committed, with earlier batches committed.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import _fakes

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
N_IMAGES = 11
BATCH = 3

SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import _fakes
_fakes.install_plain((_fakes.SLOW_CHECK,), batched=False)
from anatscore.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _cli(args: list[str], env_extra: dict[str, str] | None = None) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    env.update(env_extra or {})
    return subprocess.Popen([sys.executable, "-c", SCRIPT.format(tests=str(TESTS)), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(flag: Path, proc: subprocess.Popen, limit_s: float = 120.0) -> None:
    deadline = time.monotonic() + limit_s
    while not flag.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"run ended before hanging (rc={proc.returncode}):\n{out}\n{err}")
        if time.monotonic() > deadline:  # a safety net against a hung test, not a timing assertion
            proc.kill()
            raise AssertionError("the run never reached the hanging image")
        time.sleep(0.02)


def _rows(db: Path) -> tuple[list[str], list[tuple[str, str]]]:
    conn = sqlite3.connect(db)
    try:
        imgs = [r[0] for r in conn.execute("SELECT image_id FROM images")]
        res = [(r[0], r[1]) for r in conn.execute("SELECT image_id, check_name FROM results")]
    finally:
        conn.close()
    return imgs, res


@pytest.mark.parametrize("workers", [0, 2])
def test_kill_9_mid_run_then_resume_scores_every_image_exactly_once(tmp_path: Path, workers: int) -> None:
    src = tmp_path / "in"
    _fakes.write_pngs(src, N_IMAGES)
    run_dir = tmp_path / "run"
    flag = tmp_path / "hanging.flag"
    hang_at = "img_007.png"  # in the third batch of 3: batches 1 and 2 (6 images) are committed
    args = ["evaluate", str(src), "--out", str(run_dir), "--batch-size", str(BATCH), "--workers", str(workers)]
    proc = _cli(args, {"ANATSCORE_TEST_HANG_AT": hang_at, "ANATSCORE_TEST_HANG_FLAG": str(flag)})
    _wait_for(flag, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL

    db = run_dir / "anatscore.sqlite"
    imgs, _ = _rows(db)
    assert sorted(imgs) == [f"img_{i:03d}.png" for i in range(6)]  # exactly the committed batches
    assert not (run_dir / "checks.csv").exists()  # the exports come at the end

    # a second plain run into the same folder is refused; --resume finishes it
    again = _cli(args)
    _, err = again.communicate()
    assert again.returncode == 2 and "refusing to overwrite" in err
    resume = _cli(["evaluate", "--resume", str(run_dir), "--workers", str(workers)])
    out, err = resume.communicate()
    assert resume.returncode == 0, err

    n_checks = len(_fakes.specs((_fakes.SLOW_CHECK,), batched=False))
    imgs, res = _rows(db)
    assert sorted(imgs) == [f"img_{i:03d}.png" for i in range(N_IMAGES)]
    assert len(res) == len(set(res)) == N_IMAGES * n_checks
    checks = pd.read_csv(run_dir / "checks.csv", keep_default_na=False)
    per = checks.groupby(["image_id", "check"]).size()
    assert (per == 1).all() and len(per) == N_IMAGES * n_checks
    images = pd.read_csv(run_dir / "images.csv", keep_default_na=False)
    assert sorted(images["image_id"]) == sorted(imgs)
    run = pd.read_json(run_dir / "run.json", typ="series")
    assert run["status"] == "finished"
    assert [inv["already_done"] for inv in run["invocations"]] == [6]
    assert run["counts"]["scored"] == N_IMAGES

    # the resumed run's values equal an uninterrupted run's
    ref = _cli(["evaluate", str(src), "--out", str(tmp_path / "ref"), "--batch-size", str(BATCH)])
    ref.communicate()
    assert ref.returncode == 0
    cols = ["image_id", "check", "value", "passed", "reason"]
    ref_checks = pd.read_csv(tmp_path / "ref" / "checks.csv", keep_default_na=False)
    a = checks[cols].sort_values(cols[:2]).reset_index(drop=True)
    b = ref_checks[cols].sort_values(cols[:2]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_resume_refuses_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    from anatscore.api import ResumeError, evaluate

    (tmp_path / "x").mkdir()
    with pytest.raises(ResumeError, match="not an anatscore run folder"):
        evaluate(None, resume=tmp_path / "x")


def test_resume_refuses_to_change_what_is_measured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from anatscore.api import ResumeError, evaluate

    _fakes.install(monkeypatch)
    _fakes.write_pngs(tmp_path / "in", 2)
    evaluate(tmp_path / "in", out=tmp_path / "run", checks=["fake.mean"])
    with pytest.raises(ResumeError, match="cannot change checks"):
        evaluate(None, resume=tmp_path / "run", checks=["fake.boom"])
    res = evaluate(None, resume=tmp_path / "run", batch_size=1)  # execution settings may change
    assert sorted(set(res.checks["check"])) == ["fake.mean", "load"]
