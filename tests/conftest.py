"""Shared fixtures. Tests never touch the network; real-data tests skip with a reason."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ANATSCORE_SHARED", REPO.parent / "shared"))


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own empty ANATSCORE_HOME so no cache leaks between tests."""
    monkeypatch.setenv("ANATSCORE_HOME", str(tmp_path_factory.mktemp("anatscore_home")))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real images); skips the test when absent."""
    d = SHARED / "data"
    if not (d / "manifest.csv").is_file():
        pytest.skip(f"real data folder {d} is absent (workplace fixture, not redistributable)")
    return d


@pytest.fixture(scope="session")
def inception_weights() -> Path:
    """The FID Inception state_dict in ``../shared/weights``; skips the test when absent."""
    f = SHARED / "weights" / "inception-2015-12-05-fid-nofc.pth"
    if not f.is_file():
        pytest.skip(f"{f} is absent (real FID Inception weights only exist in the workplace)")
    return f
