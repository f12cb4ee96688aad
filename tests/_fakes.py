"""Fake registered checks for the runner/store/resume/CLI tests (independent of real checks).

``install(monkeypatch)`` replaces the registry's check list with the ``load`` record plus the
fakes below; :func:`install_plain` does the same without pytest (for subprocesses).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np

from anatscore import registry
from anatscore.types import CheckResult, CheckSpec, LoadedImage

BATCH_SIZES: list[int] = []

FAKE_CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec(name="fake.infer", summary="infers region=hand when unknown", target="_fakes:infer", stage=0,
              group="fake"),
    CheckSpec(name="fake.mean", summary="mean grey < 0.5", target="_fakes:mean", group="fake", headline=True),
    CheckSpec(name="fake.hand_only", summary="hand images only", target="_fakes:hand_only", regions=("hand",),
              group="fake"),
    CheckSpec(name="fake.boom", summary="always raises", target="_fakes:boom", group="fake"),
    CheckSpec(name="fake.batched", summary="batched check", target="", batch_target="_fakes:batched",
              group="fake", needs=("grey",)),
    CheckSpec(name="fake.agg", summary="counts prior results", target="_fakes:agg", stage=2, group="fake",
              headline=True),
)

SLOW_CHECK = CheckSpec(name="fake.slow", summary="hangs on one image (resume test)", target="_fakes:slow",
                       group="fake")
WEIGHTS_CHECK = CheckSpec(name="fake.model", summary="needs weights that are not installed",
                          target="_fakes:mean", needs=("weights:xrv-pspnet",), group="fake")


def infer(image: LoadedImage, ctx: Any) -> CheckResult:
    return CheckResult.judge("fake.infer", None, True, "guessed", infer={"region": "hand"})


def mean(image: LoadedImage, ctx: Any) -> CheckResult:
    m = float(image.grey.mean())
    return CheckResult.judge("fake.mean", m, m < 0.5, f"mean grey {m:.3f}")


def hand_only(image: LoadedImage, ctx: Any) -> CheckResult:
    return CheckResult.judge("fake.hand_only", 1.0, True, "hand")


def boom(image: LoadedImage, ctx: Any) -> CheckResult:
    raise RuntimeError("deliberate failure")


def batched(images: list[LoadedImage], ctx: Any) -> list[CheckResult]:
    BATCH_SIZES.append(len(images))
    model = ctx.model("fake-model", lambda: {"loads": 1})
    model["calls"] = model.get("calls", 0) + 1
    return [CheckResult.judge("fake.batched", float(len(images)), True, "batched") for _ in images]


def agg(image: LoadedImage, ctx: Any) -> CheckResult:
    return CheckResult.judge("fake.agg", float(len(ctx.prior)), True, ",".join(sorted(ctx.prior)))


def slow(image: LoadedImage, ctx: Any) -> CheckResult:
    """Hangs forever on the image named by ``$ANATSCORE_TEST_HANG_AT`` (the test kills us there)."""
    hang_at: Optional[str] = os.environ.get("ANATSCORE_TEST_HANG_AT")
    if hang_at and image.meta.image_id == hang_at:
        Path(os.environ["ANATSCORE_TEST_HANG_FLAG"]).write_text("hanging\n")
        while True:
            time.sleep(0.05)
    return CheckResult.judge("fake.slow", float(image.grey.mean()), True, "ok")


def specs(extra: tuple[CheckSpec, ...] = ()) -> tuple[CheckSpec, ...]:
    return registry.LOAD_CHECKS + FAKE_CHECKS + extra


def install(monkeypatch: Any, extra: tuple[CheckSpec, ...] = ()) -> tuple[CheckSpec, ...]:
    checks = specs(extra)
    monkeypatch.setattr(registry, "CHECKS", checks)
    BATCH_SIZES.clear()
    return checks


def install_plain(extra: tuple[CheckSpec, ...] = ()) -> None:
    registry.CHECKS = specs(extra)


def write_pngs(folder: Path, n: int, size: int = 32, seed: int = 0) -> list[Path]:
    """``n`` small grey PNGs with known means: image i is ``10*i`` on its top half and ``10*i + 2``
    on its bottom half (mean ``10*i + 1``; not constant, since the loader refuses constant images)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = folder / f"img_{i:03d}.png"
        arr = np.full((size, size), (10 * i) % 250, np.uint8)
        arr[size // 2 :] += 2
        Image.fromarray(arr).save(p)
        out.append(p)
    return out
