"""The evaluation pipeline: inputs -> decode once -> checks by stage -> metrics -> store.

For each batch of ``config.batch_size`` inputs::

    decode (thread pool of config.workers; the next batch decodes while this one is checked)
      -> ``load`` record            a file that does not decode gets ONE row: load, passed=false,
                                    with the decoder's reason, and no other rows (the image was
                                    never seen, so "not applicable" rows would be noise)
      -> stage 0 (inference)        results' extra["infer"] fill empty meta fields
                                    (meta.inferred[field] = check name)
      -> stage 1 (checks)           checks with a batch_target get the whole batch
      -> stage 2 (aggregates)       read ctx.prior (this image's earlier results)
      -> RunMetrics.add(batch)      only when a reference set is configured
      -> RunStore.commit_batch      one transaction per batch (exactly-once resume)

Every selected check gets one row per decoded image: a verdict, or ``passed`` empty with the
reason it does not apply (``applies()``, missing original/mask, missing reference, missing
weights). A check that raises is an anatscore bug, not bad input: its row says
``check error: <type>: <message>``, the traceback is logged (logger ``anatscore.runner``) and the
run goes on. Manifest rows marked ``refused`` are recorded (a ``load`` row with passed empty)
and never decoded; inputs that discovery rejected (``meta.extra["load_error"]``) get a failed
``load`` row with that reason and are never opened.

torch is imported only when a selected check batches model inputs (``batch_target``) or needs
weights (``needs`` has ``weights:<record>`` or ``torch``) and its weights are installed, so
weight-free runs start fast; each model is built once per run through ``ctx.model`` and model
checks run under ``torch.inference_mode()``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, Sequence

from .checks import CheckContext, applies, image_gates
from .config import EvalConfig
from .registry import resolve, select_checks
from .store import LOAD_FAILED, LOAD_OK, LOAD_REFUSED, ImageRecord, RunStore
from .types import CheckResult, CheckSpec, ImageMeta, LoadedImage

log = logging.getLogger("anatscore.runner")

#: Prefix of the reason of a check that raised (an anatscore bug, never bad input).
CHECK_ERROR = "check error:"

#: Discovery can reject an input without decoding it (e.g. a manifest path outside the folder)
#: by setting ``meta.extra[LOAD_ERROR_KEY] = "reason"``: it gets a failed ``load`` row with that
#: reason and is never opened.
LOAD_ERROR_KEY = "load_error"

#: The report shows thumbnails of at most this many failing images per run, this many pixels a side.
MAX_THUMBNAILS = 300
THUMBNAIL_SIDE = 128


@dataclass
class Item:
    """One input of a run: its metadata and how to decode it (raises ``LoadError`` on bad input)."""

    meta: ImageMeta
    decode: Callable[[], LoadedImage]


@dataclass
class RunStats:
    """What one invocation of :meth:`Runner.run` did (this process only; see the store for totals).

    ``timings`` are seconds by stage: ``setup`` (importing check modules, and torch when a check
    needs it),
    ``decode`` is summed over worker threads, ``decode_wait``
    the main thread's wait for decoded batches, ``check:<group>`` per check group (summed over
    check threads when ``workers > 0``), ``metrics``, ``store``.
    """

    processed: int = 0
    skipped_done: int = 0
    timings: dict[str, float] = field(default_factory=lambda: defaultdict(float))


def file_sha256(path: str) -> str:
    """SHA-256 hex digest of a file (streamed)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def thumbnail_png(image: LoadedImage, side: int = THUMBNAIL_SIDE) -> bytes:
    """A PNG of at most ``side`` pixels per side (colour when the input had colour) for the report."""
    import io

    import numpy as np
    from PIL import Image

    src = image.colour if image.colour is not None else np.round(np.clip(image.grey, 0, 1) * 255).astype(np.uint8)
    im = Image.fromarray(np.ascontiguousarray(src))
    im.thumbnail((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def _needs_torch(spec: CheckSpec) -> bool:
    """A check needs torch when it batches model inputs (``batch_target``), needs weights
    (``weights:<record>``) or says ``torch`` in ``needs``."""
    return bool(spec.batch_target) or any(n == "torch" or n.startswith("weights:") for n in spec.needs)


def _is_weights_error(exc: BaseException) -> bool:
    from . import weights

    return isinstance(exc, getattr(weights, "WeightsError", weights.WeightsMissingError))


class _Check:
    """A selected check with its implementation resolved once per run."""

    def __init__(self, spec: CheckSpec) -> None:
        self.spec = spec
        self.fn: Optional[Callable[..., Any]] = None
        self.batch_fn: Optional[Callable[..., Any]] = None
        self.unavailable = ""  # reason every row is not applicable (e.g. missing weights)
        self.import_error = ""
        self._logged_traceback = False
        self.n_errors = 0  # rows of this invocation that say "check error"
        try:
            if spec.batch_target:
                self.batch_fn = resolve(spec.batch_target)
            else:
                self.fn = resolve(spec.target)
        except Exception as exc:  # noqa: BLE001 - a broken check must not stop the run
            self.import_error = f"{CHECK_ERROR} cannot import {spec.batch_target or spec.target}: {exc!r}"
            log.error("check %s: %s", spec.name, self.import_error)

    @property
    def group(self) -> str:
        return self.spec.group or self.spec.name.split(".", 1)[0]

    def error(self, exc: BaseException) -> CheckResult:
        """The row of a check that raised; logs the traceback the first time (later ones at
        DEBUG level; :meth:`Runner.run` logs a count per check at the end).

        A missing or unusable weights file (``anatscore.weights.WeightsError``) is not a bug: the
        check is marked unavailable for the rest of the run (reported once), and its rows are
        not applicable with the message that says how to install the weights.
        """
        if _is_weights_error(exc):
            self.unavailable = f"weights not installed: {exc}"
            log.warning("check %s is not applicable in this run: %s", self.spec.name, exc)
            return CheckResult.na(self.spec.name, self.unavailable)
        reason = f"{CHECK_ERROR} {type(exc).__name__}: {exc}"
        self.n_errors += 1
        if not self._logged_traceback:
            log.error("check %s raised (an anatscore bug); rows say %r", self.spec.name, reason, exc_info=exc)
            self._logged_traceback = True
        else:
            log.debug("check %s raised: %s", self.spec.name, reason)
        return CheckResult.na(self.spec.name, reason)

    def validate(self, res: Any) -> CheckResult:
        if not isinstance(res, CheckResult):
            return self.error(TypeError(f"returned {type(res).__name__}, not CheckResult"))
        if res.check != self.spec.name:
            return self.error(ValueError(f"returned a result named {res.check!r}"))
        return res


class Runner:
    """Runs the selected checks over inputs and commits records to a :class:`RunStore`.

    Args:
        config: the run's configuration (checks, device, workers, batch size, reference).
        store: where records go; already-committed image_ids are skipped (resume).
        metrics: optional set-level accumulator with ``add(images)``/``result()``.
        progress: show a tqdm progress bar on stderr.
    """

    def __init__(
        self,
        config: EvalConfig,
        store: RunStore,
        metrics: Any = None,
        progress: bool = False,
    ) -> None:
        t0 = time.perf_counter()
        self.config = config
        self.store = store
        self.metrics = metrics
        self.metrics_error = ""
        self.progress = progress
        self.specs = select_checks(config.checks)
        self.checks = [_Check(s) for s in self.specs]
        self.ctx = CheckContext(config=config)
        self.stats = RunStats()
        self._timing_lock = threading.Lock()
        self._check_pool: Optional[ThreadPoolExecutor] = None
        self._check_weights()
        self.uses_torch = any(_needs_torch(c.spec) and not c.unavailable for c in self.checks)
        self.stats.timings["setup"] += time.perf_counter() - t0  # importing the checks' modules

    # -- preparation --------------------------------------------------------------------------
    @staticmethod
    def torch_needed(config: EvalConfig) -> bool:
        """Whether a run with ``config`` will import torch (a selected check needs weights)."""
        return any(_needs_torch(s) for s in select_checks(config.checks))

    def _check_weights(self) -> None:
        """Mark checks whose weights are not installed: their rows say how to install them."""
        from . import weights

        # WeightsError (an unknown or broken record) is the base of WeightsMissingError when present
        errors = getattr(weights, "WeightsError", weights.WeightsMissingError)
        by_reason: dict[str, list[str]] = {}  # one log line per missing weight, not one per check
        for chk in self.checks:
            for name in chk.spec.weights():
                try:
                    weights.local_path(name)
                except weights.WeightsMissingError as exc:
                    chk.unavailable = f"weights not installed: {exc}"
                except errors as exc:
                    chk.unavailable = f"weights unavailable: {exc}"
                if chk.unavailable:
                    by_reason.setdefault(chk.unavailable, []).append(chk.spec.name)
                    break
        for reason, names in by_reason.items():
            log.warning("%s %s will be not applicable: %s", "check" if len(names) == 1 else "checks",
                        ", ".join(names), reason)

    # -- decoding -----------------------------------------------------------------------------
    def _decode(self, item: Item) -> tuple[Optional[LoadedImage], str]:
        from .io import LoadError

        t0 = time.perf_counter()
        meta = item.meta
        try:
            if not meta.sha256 and meta.abspath:
                meta.sha256 = file_sha256(meta.abspath)
            img = item.decode()
            out: tuple[Optional[LoadedImage], str] = (img, "")
        except LoadError as exc:
            out = (None, str(exc) or "cannot decode image")
        except MemoryError:
            out = (None, "cannot decode image: out of memory while decoding")
        except Exception as exc:  # noqa: BLE001 - any decoder failure is a per-image record
            log.warning("decoding %s raised %s: %s", meta.path or meta.image_id, type(exc).__name__, exc)
            out = (None, f"cannot decode image: {type(exc).__name__}: {exc}")
        with self._timing_lock:
            self.stats.timings["decode"] += time.perf_counter() - t0
        return out

    def _decoded_batches(
        self, batches: Sequence[Sequence[Item]]
    ) -> Iterator[tuple[Sequence[Item], list[tuple[Optional[LoadedImage], str]]]]:
        """Yield (items, decoded) per batch; with workers, the next batch decodes meanwhile."""
        def todo(it: Item) -> bool:
            return not it.meta.refused and not it.meta.extra.get(LOAD_ERROR_KEY)

        if self.config.workers <= 0:
            for b in batches:
                yield b, [self._decode(it) if todo(it) else (None, "") for it in b]
            return
        with ThreadPoolExecutor(max_workers=self.config.workers, thread_name_prefix="anatscore-decode") as ex:
            def submit(b: Sequence[Item]) -> list[Optional[Future]]:
                return [ex.submit(self._decode, it) if todo(it) else None for it in b]

            pending: Optional[tuple[Sequence[Item], list[Optional[Future]]]] = None
            for b in batches:
                nxt = (b, submit(b))
                if pending is not None:
                    yield self._collect(pending)
                pending = nxt
            if pending is not None:
                yield self._collect(pending)

    def _collect(
        self, pending: tuple[Sequence[Item], list[Optional[Future]]]
    ) -> tuple[Sequence[Item], list[tuple[Optional[LoadedImage], str]]]:
        t0 = time.perf_counter()
        b, futs = pending
        out = [f.result() if f is not None else (None, "") for f in futs]
        self.stats.timings["decode_wait"] += time.perf_counter() - t0
        return b, out

    # -- checks -------------------------------------------------------------------------------
    def _not_applicable(self, chk: _Check, image: LoadedImage) -> str:
        """Why ``chk`` does not apply to ``image`` ("" when it does)."""
        if chk.import_error:
            return chk.import_error
        if chk.unavailable:
            return chk.unavailable
        ok, why = applies(chk.spec, image.meta)
        if not ok:
            return why
        needs = chk.spec.needs
        if "original+mask" in needs and (image.original is None or image.mask is None):
            return "needs the original image and mask (manifest columns original, mask)"
        if "reference" in needs and not self.config.reference:
            return "needs a reference set of real images (--reference)"
        return image_gates(chk.spec, image)

    def _model_scope(self, spec: CheckSpec) -> contextlib.AbstractContextManager[Any]:
        if not _needs_torch(spec):
            return contextlib.nullcontext()
        import torch

        return torch.inference_mode()

    def _run_check(
        self, chk: _Check, images: Sequence[LoadedImage], results: dict[str, dict[str, CheckResult]]
    ) -> None:
        """Run one check on the images of a batch, filling ``results[image_id][check]``."""
        if chk.batch_fn is None:
            for img in images:
                self._run_single(chk, img, results[img.meta.image_id])
            return
        t0 = time.perf_counter()
        todo: list[LoadedImage] = []
        for img in images:
            why = self._not_applicable(chk, img)
            if why:
                results[img.meta.image_id][chk.spec.name] = CheckResult.na(chk.spec.name, why)
            else:
                todo.append(img)
        if todo:
            with self._model_scope(chk.spec):
                self._run_batch(chk, todo, results)
        self._add_time(f"check:{chk.group}", time.perf_counter() - t0)

    def _run_single(self, chk: _Check, img: LoadedImage, found: dict[str, CheckResult]) -> None:
        """Run a per-image check on one image; ``found`` is that image's results so far (its prior).

        Safe to call from several threads for different images: it touches only ``found`` and
        ``img`` (whose memo is per image); models go through the locked ``ctx.model``.
        """
        t0 = time.perf_counter()
        why = self._not_applicable(chk, img)
        if why:
            found[chk.spec.name] = CheckResult.na(chk.spec.name, why)
        else:
            ctx = dataclasses.replace(self.ctx, prior=dict(found))
            # inference_mode is thread-local: enter it in the thread that runs the check
            with self._model_scope(chk.spec):
                try:
                    res = chk.validate(chk.fn(img, ctx))  # type: ignore[misc]
                except Exception as exc:  # noqa: BLE001 - see module docstring
                    res = chk.error(exc)
            found[chk.spec.name] = res
        self._add_time(f"check:{chk.group}", time.perf_counter() - t0)

    def _run_singles(self, chks: Sequence[_Check], img: LoadedImage, found: dict[str, CheckResult]) -> None:
        for chk in chks:
            self._run_single(chk, img, found)

    def _add_time(self, key: str, seconds: float) -> None:
        with self._timing_lock:
            self.stats.timings[key] += seconds

    def _run_batch(
        self, chk: _Check, todo: list[LoadedImage], results: dict[str, dict[str, CheckResult]]
    ) -> None:
        try:
            out = list(chk.batch_fn(todo, self.ctx))  # type: ignore[misc]
            if len(out) != len(todo):
                raise ValueError(f"batch check returned {len(out)} results for {len(todo)} images")
            got = [chk.validate(r) for r in out]
        except Exception as exc:  # noqa: BLE001 - see module docstring
            err = chk.error(exc)
            got = [err] * len(todo)
        for img, res in zip(todo, got):
            results[img.meta.image_id][chk.spec.name] = res

    @staticmethod
    def _apply_inference(image: LoadedImage, found: dict[str, CheckResult]) -> None:
        """Copy stage-0 ``extra["infer"]`` predictions into empty meta fields."""
        meta = image.meta
        for name, res in found.items():
            infer = res.extra.get("infer") if isinstance(res.extra, dict) else None
            if not isinstance(infer, dict):
                continue
            for fld, val in infer.items():
                if hasattr(meta, fld) and not getattr(meta, fld) and val:
                    setattr(meta, fld, str(val))
                    meta.inferred[fld] = name

    def _score_batch(
        self, images: list[LoadedImage], loads: dict[str, CheckResult]
    ) -> dict[str, dict[str, CheckResult]]:
        """Every selected check on the decoded images of a batch, by image_id then check name.

        Within a stage, batched (model) checks run first on the whole batch in this thread; then
        each image's per-image checks run in order, images in parallel on the check pool when
        ``workers > 0`` (numpy/scipy/scikit-image release the GIL for most of their work).
        """
        results: dict[str, dict[str, CheckResult]] = {i.meta.image_id: {"load": loads[i.meta.image_id]} for i in images}
        for stage in sorted({c.spec.stage for c in self.checks}):
            chks = [c for c in self.checks if c.spec.stage == stage and c.spec.name != "load"]
            for chk in chks:
                if chk.batch_fn is not None:
                    self._run_check(chk, images, results)
            singles = [c for c in chks if c.batch_fn is None]
            if singles:
                if self._check_pool is not None and len(images) > 1:
                    futs = [self._check_pool.submit(self._run_singles, singles, img, results[img.meta.image_id])
                            for img in images]
                    for f in futs:
                        f.result()
                else:
                    for img in images:
                        self._run_singles(singles, img, results[img.meta.image_id])
            if stage == 0:
                for img in images:
                    self._apply_inference(img, results[img.meta.image_id])
        return results

    # -- the run ------------------------------------------------------------------------------
    def run(self, items: Sequence[Item]) -> RunStats:
        """Score every input not yet committed to the store; returns this invocation's stats."""
        done = self.store.done_ids()
        self._thumbs_left = MAX_THUMBNAILS - self.store.thumbnail_count()
        todo = [it for it in items if it.meta.image_id not in done]
        self.stats.skipped_done = len(items) - len(todo)
        if self.uses_torch:
            t0 = time.perf_counter()
            import torch  # noqa: F401 - imported once here, not inside the first check

            self.stats.timings["setup"] += time.perf_counter() - t0

        size = max(1, int(self.config.batch_size))
        batches = [todo[i:i + size] for i in range(0, len(todo), size)]
        bar = self._bar(len(todo))
        load_chk = next(c for c in self.checks if c.spec.name == "load")
        if self.config.workers > 0:
            self._check_pool = ThreadPoolExecutor(max_workers=self.config.workers, thread_name_prefix="anatscore-check")
        try:
            for batch, decoded in self._decoded_batches(batches):
                records: list[ImageRecord] = []
                ok_images: list[LoadedImage] = []
                slot: dict[str, int] = {}
                loads: dict[str, CheckResult] = {}
                for it, (img, why) in zip(batch, decoded):
                    meta = it.meta
                    if meta.refused:
                        reason = "not decoded: the generator refused this prompt (manifest refused=true)"
                        records.append(ImageRecord(meta, LOAD_REFUSED, reason, [CheckResult.na("load", reason)]))
                        continue
                    pre = meta.extra.get(LOAD_ERROR_KEY)
                    if pre:
                        img, why = None, str(pre)
                    if img is None:
                        records.append(ImageRecord(meta, LOAD_FAILED, why, [CheckResult("load", None, False, why)]))
                        continue
                    # the load record itself comes from the registered load check
                    found: dict[str, dict[str, CheckResult]] = {meta.image_id: {}}
                    self._run_check(load_chk, [img], found)
                    lres = found[meta.image_id]["load"]
                    if lres.passed is False:
                        records.append(ImageRecord(meta, LOAD_FAILED, lres.reason, [lres]))
                        continue
                    slot[meta.image_id] = len(records)
                    loads[meta.image_id] = lres
                    records.append(ImageRecord(img.meta, LOAD_OK, "", []))
                    ok_images.append(img)
                scored = self._score_batch(ok_images, loads)
                for img in ok_images:
                    rec = records[slot[img.meta.image_id]]
                    rec.meta = img.meta
                    rec.results.extend(scored[img.meta.image_id].values())
                    if self._thumbs_left > 0 and any(r.passed is False for r in rec.results):
                        rec.thumbnail = thumbnail_png(img)
                        self._thumbs_left -= 1
                if self.metrics is not None and ok_images:
                    self._add_metrics(ok_images)
                t0 = time.perf_counter()
                self.store.commit_batch(records)
                self.stats.timings["store"] += time.perf_counter() - t0
                self.stats.processed += len(records)
                if bar is not None:
                    bar.update(len(records))
                del ok_images, decoded
        finally:
            if bar is not None:
                bar.close()
            if self._check_pool is not None:
                self._check_pool.shutdown(wait=True)
                self._check_pool = None
            for chk in self.checks:
                if chk.n_errors:
                    log.error("check %s raised on %d image(s) in this run; their rows say 'check error: ...'",
                              chk.spec.name, chk.n_errors)
        return self.stats

    def _add_metrics(self, images: list[LoadedImage]) -> None:
        t0 = time.perf_counter()
        try:
            self.metrics.add(images)
        except Exception as exc:  # noqa: BLE001 - a metrics bug must not lose the check results
            self.metrics_error = f"{type(exc).__name__}: {exc}"
            log.error("set-level metrics failed and are disabled for this run: %s", exc, exc_info=exc)
            self.metrics = None
        self.stats.timings["metrics"] += time.perf_counter() - t0

    def _bar(self, total: int) -> Any:
        if not self.progress or total == 0 or not sys.stderr.isatty():
            return None
        from tqdm import tqdm

        return tqdm(total=total, unit="img", desc="anatscore", file=sys.stderr, dynamic_ncols=True)
