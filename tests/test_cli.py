"""The CLI: evaluate (exit codes, --json, refusals, resume), list, and README/CI agreement."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import _fakes
from anatscore.cli import main

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    _fakes.install(monkeypatch)


def test_evaluate_json_summary_and_exit_0_despite_failed_loads(fakes, tmp_path: Path, capsys) -> None:
    _fakes.write_pngs(tmp_path / "in", 3)
    (tmp_path / "in" / "zero.png").write_bytes(b"")
    rc = main(["evaluate", str(tmp_path / "in"), "--out", str(tmp_path / "run"), "--json", "--workers", "2"])
    out, err = capsys.readouterr()
    assert rc == 0
    doc = json.loads(out)
    assert doc["counts"]["scored"] == 3 and doc["counts"]["failed"] == 1
    assert doc["checks"]["load"] == {"rows": 4, "judged": 4, "passed": 3, "failed": 1, "pass_rate": 0.75,
                                     "not_applicable_reason": ""}
    assert doc["checks"]["fake.boom"]["judged"] == 0
    assert doc["report"].endswith("report.html") and Path(doc["report"]).is_file()
    # the summary line: stderr with --json
    assert "3 scored (0 with a failed check, 0 with no check that applied), 1 failed to load" in err
    assert doc["images_with_failed_checks"] == 0 and doc["images_without_verdict"] == 0


def test_default_run_dir_is_new_and_timestamped(fakes, tmp_path: Path, monkeypatch, capsys) -> None:
    _fakes.write_pngs(tmp_path / "in", 1)
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", "in"]) == 0
    assert main(["evaluate", "in"]) == 0
    runs = sorted(p.name for p in (tmp_path / "anatscore-runs").iterdir())
    assert len(runs) == 2 and all(re.fullmatch(r"\d{8}-\d{6}(-\d+)?", r) for r in runs)
    assert "report:" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv_tail, message",
    [
        (["--checks", "no.such.check"], "matches no registered check"),
        (["--batch-size", "0"], "--batch-size must be >= 1"),
    ],
)
def test_usage_errors_exit_2(fakes, tmp_path: Path, capsys, argv_tail: list[str], message: str) -> None:
    _fakes.write_pngs(tmp_path / "in", 1)
    rc = main(["evaluate", str(tmp_path / "in"), "--out", str(tmp_path / "run"), *argv_tail])
    assert rc == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_missing_folder_and_existing_out_exit_2(fakes, tmp_path: Path, capsys) -> None:
    assert main(["evaluate", str(tmp_path / "nope"), "--out", str(tmp_path / "r1")]) == 2
    assert "does not exist" in capsys.readouterr().err
    _fakes.write_pngs(tmp_path / "in", 1)
    assert main(["evaluate", str(tmp_path / "in"), "--out", str(tmp_path / "r2")]) == 0
    assert main(["evaluate", str(tmp_path / "in"), "--out", str(tmp_path / "r2")]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert main(["evaluate", "--resume", str(tmp_path / "r2")]) == 0


def test_nothing_scored_exits_3(fakes, tmp_path: Path, capsys) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(b"garbage")
    assert main(["evaluate", str(tmp_path / "in"), "--out", str(tmp_path / "run")]) == 3
    (tmp_path / "empty").mkdir()
    assert main(["evaluate", str(tmp_path / "empty"), "--out", str(tmp_path / "run2")]) == 3


def test_list_checks_from_the_registry(fakes, capsys) -> None:
    assert main(["list", "checks", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    names = [r["name"] for r in rows]
    assert names == [s.name for s in _fakes.specs()]
    hand = next(r for r in rows if r["name"] == "fake.hand_only")
    assert hand["regions"] == ["hand"] and hand["needs"] == ["grey"]
    assert main(["list", "checks"]) == 0
    text = capsys.readouterr().out
    assert "fake.hand_only" in text and "hand" in text


def test_list_models_names_the_checks_that_need_them(monkeypatch, capsys) -> None:
    _fakes.install(monkeypatch, extra=(_fakes.WEIGHTS_CHECK,))
    assert main(["list", "models", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["xrv-pspnet"]["used_by"] == ["fake.model"]
    assert rows["xrv-pspnet"]["installed"] is False  # conftest isolates ANATSCORE_HOME
    assert main(["list", "metrics", "--json"]) == 0
    json.loads(capsys.readouterr().out)


def _readme_quick_start() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "the Quick start section has no bash block"
    return [ln.strip() for ln in block.group(1).splitlines() if ln.strip()]


def test_readme_quick_start_matches_ci() -> None:
    commands = _readme_quick_start()
    assert len(commands) == 2, commands
    assert "anatscore demo" in commands[0] and "pytest" in commands[1]
    ci = [ln.strip() for ln in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    ci_cmds = [ln for ln in ci if ln and not ln.startswith("#") and not ln.startswith(("set ", "cd "))]
    assert ci_cmds == commands
