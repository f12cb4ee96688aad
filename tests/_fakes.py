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

NOWEIGHTS_CHECK = CheckSpec(name="fake.noweights", summary="raises WeightsMissingError",
                            target="_fakes:noweights", group="fake")
NOWEIGHTS_CALLS: list[str] = []

SLOW_CHECK = CheckSpec(name="fake.slow", summary="hangs on one image (resume test)", target="_fakes:slow",
                       group="fake")
WEIGHTS_CHECK = CheckSpec(name="fake.model", summary="needs weights that are not installed",
                          target="_fakes:mean", needs=("weights:xrv-pspnet",), group="fake")


def infer(image: LoadedImage, ctx: Any) -> CheckResult:
    return CheckResult.judge("fake.infer", None, True, "guessed", infer={"region": "hand"})


THREADS: set[str] = set()


def mean(image: LoadedImage, ctx: Any) -> CheckResult:
    import threading

    THREADS.add(threading.current_thread().name)
    m = float(image.grey.mean())
    limit = float(ctx.config.option("fake.mean", "max", 0.5))
    return CheckResult.judge("fake.mean", m, m < limit, f"mean grey {m:.3f}")


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


def noweights(image: LoadedImage, ctx: Any) -> CheckResult:
    from anatscore.weights import WeightsMissingError

    NOWEIGHTS_CALLS.append(image.meta.image_id)
    raise WeightsMissingError("weights 'x' are not installed; run `anatscore weights download x`")


def slow(image: LoadedImage, ctx: Any) -> CheckResult:
    """Hangs forever on the image named by ``$ANATSCORE_TEST_HANG_AT`` (the test kills us there)."""
    hang_at: Optional[str] = os.environ.get("ANATSCORE_TEST_HANG_AT")
    if hang_at and image.meta.image_id == hang_at:
        Path(os.environ["ANATSCORE_TEST_HANG_FLAG"]).write_text("hanging\n")
        while True:
            time.sleep(0.05)
    return CheckResult.judge("fake.slow", float(image.grey.mean()), True, "ok")


def specs(extra: tuple[CheckSpec, ...] = (), batched: bool = True) -> tuple[CheckSpec, ...]:
    """The load record, the fakes (without ``fake.batched`` when ``batched`` is False: a batched
    check makes the runner import torch, seconds per subprocess) and ``extra``."""
    fakes = FAKE_CHECKS if batched else tuple(s for s in FAKE_CHECKS if not s.batch_target)
    return registry.LOAD_CHECKS + fakes + extra


def install(monkeypatch: Any, extra: tuple[CheckSpec, ...] = ()) -> tuple[CheckSpec, ...]:
    checks = specs(extra)
    monkeypatch.setattr(registry, "CHECKS", checks)
    BATCH_SIZES.clear()
    THREADS.clear()
    return checks


def install_plain(extra: tuple[CheckSpec, ...] = (), batched: bool = True) -> None:
    registry.CHECKS = specs(extra, batched)


def write_pngs(folder: Path, n: int, size: int = 32, seed: int = 0) -> list[Path]:
    """``n`` small grey PNGs with known means: image i is a +-10 checkerboard around ``mean_value(i)``.

    (Not constant: a constant image is rejected by the loader as "nothing to score".)
    """
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    yy, xx = np.mgrid[0:size, 0:size]
    sign = np.where((yy + xx) % 2 == 0, 1, -1)
    for i in range(n):
        p = folder / f"img_{i:03d}.png"
        Image.fromarray((mean_value(i) + 10 * sign).astype(np.uint8)).save(p)
        out.append(p)
    return out


def mean_value(i: int) -> int:
    """The mean grey level (0-255) of :func:`write_pngs`' image ``i``."""
    return 20 + (10 * i) % 200
