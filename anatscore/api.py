"""The Python API: :func:`evaluate` a folder or in-memory images, :func:`run_check` on one array.

>>> import numpy as np, anatscore
>>> ramp = np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)
>>> res = anatscore.evaluate([ramp], checks=["load"])
>>> res.checks[["image_id", "check", "passed"]].values.tolist()
[['image-0000', 'load', True]]

A folder run writes a run folder when ``out`` is given (the CLI always gives one); without
``out`` the records live in an in-memory database and only the returned :class:`EvalResult`
holds them.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.metadata
import inspect
import json
import logging
import platform
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

import numpy as np

from . import __version__
from .checks import CheckContext, applies, image_gates
from .config import EvalConfig
from .export import export_run, refusal_summary, write_run_json
from .refusals import counts as refusal_counts
from .registry import check_spec, resolve
from .runner import Item, Runner, RunStats
from .store import LOAD_FAILED, LOAD_OK, LOAD_REFUSED, RunStore
from .types import CheckResult, ImageMeta, LoadedImage

log = logging.getLogger("anatscore")

#: Database file name inside a run folder when ``--db`` is not given.
DB_NAME = "anatscore.sqlite"

ImageLike = Any  # numpy array (H, W) / (H, W, 3|4) or PIL.Image.Image


class RunExistsError(FileExistsError):
    """The output folder already holds something; anatscore never overwrites a run silently."""


class ResumeError(ValueError):
    """``--resume`` points at something that is not a resumable anatscore run folder."""


@dataclass
class EvalResult:
    """What :func:`evaluate` returns.

    Attributes:
        images: one row per image (metadata, load status, headline verdicts, n_checks, n_failed).
        checks: the long table, one row per (image, check); ``passed`` is True/False/None.
        metrics: the ``metrics.json`` document (set-level metrics per stratum).
        manifest: the ``run.json`` document (versions, device, config, weights, counts, times).
        run_dir: the run folder, or None for a run kept in memory.
        timings: seconds by stage in this call (discover, decode, decode_wait, check:<group>,
            metrics, store, export, total); the same minus export/total is in ``run.json``.
    """

    images: Any
    checks: Any
    metrics: dict[str, Any]
    manifest: dict[str, Any]
    run_dir: Optional[Path]
    timings: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.manifest.get("counts", {}))

    @property
    def exit_code(self) -> int:
        """0 when at least one image was scored, 3 when nothing could be scored."""
        return 0 if self.counts.get("scored", 0) > 0 else 3


# -- inputs -----------------------------------------------------------------------------------
def image_from_array(array: ImageLike, meta: ImageMeta) -> LoadedImage:
    """Wrap an in-memory image as a :class:`LoadedImage` (grey float32 in [0, 1]).

    Integer arrays are divided by their dtype's maximum (uint8 -> /255, uint16 -> /65535);
    float arrays must already be finite and in [0, 1]. As for files, a constant image is refused
    (``LoadError``: nothing to score; a safety filter's all-black output is one). Colour (H, W, 3|4) keeps a uint8 copy
    in ``colour`` (alpha dropped) and is converted to grey with the ITU-R 601-2 luma weights
    ``0.299 R + 0.587 G + 0.114 B`` (the same as PIL's ``convert("L"/"F")`` used for files).
    """
    from .io import LoadError

    if not isinstance(array, np.ndarray):
        try:
            from PIL import Image
        except ImportError:  # pragma: no cover - pillow is a dependency
            raise LoadError(f"unsupported image object {type(array).__name__}") from None
        if isinstance(array, Image.Image):
            im = array
            if im.mode not in ("L", "RGB", "RGBA", "I;16", "I", "F"):
                im = im.convert("RGB")
            array = np.asarray(im)
        else:
            raise LoadError(f"unsupported image object {type(array).__name__}; give a numpy array or PIL image")
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[..., :3]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)) or min(a.shape[:2]) < 1:
        raise LoadError(f"expected an (H, W) or (H, W, 3|4) image, got shape {a.shape}")
    if a.dtype == bool:
        f = a.astype(np.float32)
    elif np.issubdtype(a.dtype, np.integer):
        f = a.astype(np.float32) / float(np.iinfo(a.dtype).max)
    elif np.issubdtype(a.dtype, np.floating):
        f = a.astype(np.float32)
        if not np.isfinite(f).all():
            raise LoadError("image contains NaN or infinite values")
        if f.min() < 0.0 or f.max() > 1.0:
            raise LoadError(f"float image values must lie in [0, 1], got [{f.min():.4g}, {f.max():.4g}]")
    else:
        raise LoadError(f"unsupported array dtype {a.dtype}")
    colour = None
    if f.ndim == 3:
        colour = np.round(np.clip(f, 0, 1) * 255).astype(np.uint8)
        grey = (f @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.float32)
    else:
        grey = f
    # the same content rule as for files (a constant image is nothing to score), where io has it
    from .io import loading

    content_rule = getattr(loading, "_check_content", None)
    if content_rule is not None:
        content_rule(grey, "image")
    meta.height, meta.width = grey.shape
    meta.format = meta.format or "array"
    return LoadedImage(meta=meta, grey=np.ascontiguousarray(grey), colour=colour)


def _normalised_meta(meta: ImageMeta, fields: Mapping[str, Any]) -> ImageMeta:
    """Apply manifest-like ``fields`` to ``meta`` (vocabulary fields normalised)."""
    from .vocab import normalise

    for key, val in fields.items():
        if val is None or key in ("path", "image_id") or not hasattr(meta, key):
            continue
        if key in ("modality", "region", "view", "task"):
            val = normalise(key, str(val))
        elif key == "refused":
            val = str(val).strip().lower() in ("1", "true", "yes", "y")
        else:
            val = str(val)
        setattr(meta, key, val)
    return meta


#: Image fields that ``evaluate(folder, region=...)`` / ``--set`` may give for a whole folder.
DEFAULT_FIELDS: tuple[str, ...] = ("modality", "region", "view", "task", "prompt", "backend", "seed")


def field_defaults(fields: Mapping[str, Any]) -> dict[str, str]:
    """Validated, normalised folder-wide metadata (``{"region": "Knee"}`` -> ``{"region": "knee"}``).

    Raises:
        ValueError: a field outside :data:`DEFAULT_FIELDS` or an unknown vocabulary value.
    """
    bad = sorted(set(fields) - set(DEFAULT_FIELDS))
    if bad:
        raise ValueError(f"cannot set {', '.join(bad)} for every image; settable fields: {', '.join(DEFAULT_FIELDS)}")
    meta = _normalised_meta(ImageMeta(image_id="", path=""), {k: v for k, v in fields.items() if v is not None})
    return {k: str(getattr(meta, k)) for k in fields if fields[k] is not None}


def apply_defaults(meta: ImageMeta, defaults: Mapping[str, str]) -> None:
    """Fill the fields ``meta`` leaves empty from ``defaults`` (recorded as ``inferred[f] = "set"``):
    a manifest row, sidecar or PNG text always wins over the folder-wide value."""
    for key, value in defaults.items():
        if value and not getattr(meta, key, ""):
            setattr(meta, key, value)
            meta.inferred[key] = "set"


def _rows(manifest: Any) -> list[dict[str, Any]]:
    if manifest is None:
        return []
    if hasattr(manifest, "to_dict"):  # pandas DataFrame
        return [{k: v for k, v in r.items() if v == v} for r in manifest.to_dict("records")]
    return [dict(r) for r in manifest]


def memory_items(images: Any, manifest: Any = None, **fields: Any) -> list[Item]:
    """Inputs from in-memory images: a sequence of arrays/PIL images or a ``{id: image}`` dict.

    ``manifest`` (a DataFrame or list of dicts, row ``i`` for image ``i``) and ``fields``
    (applied to every image, e.g. ``region="hand"``) set the metadata.
    """
    if isinstance(images, Mapping):
        pairs = [(str(k), v) for k, v in images.items()]
    else:
        if isinstance(images, np.ndarray) and images.ndim == 2:
            images = [images]
        pairs = [(f"image-{i:04d}", v) for i, v in enumerate(images)]
    rows = _rows(manifest)
    if rows and len(rows) != len(pairs):
        raise ValueError(f"manifest has {len(rows)} rows for {len(pairs)} images")
    items: list[Item] = []
    for i, (image_id, arr) in enumerate(pairs):
        meta = ImageMeta(image_id=image_id, path=image_id)
        _normalised_meta(meta, fields)
        if rows:
            _normalised_meta(meta, rows[i])
        items.append(Item(meta, functools.partial(image_from_array, arr, meta)))
    return items


def folder_items(root: Path, config: EvalConfig, manifest: Any = None) -> list[Item]:
    """Inputs discovered under ``root`` (``anatscore.io.discover``), decoded by ``load_image``."""
    from .io import discover, load_image

    params = inspect.signature(discover).parameters
    kw: dict[str, Any] = {}
    if manifest is not None:
        if "manifest" not in params:
            raise ValueError("this version of anatscore.io.discover reads manifest.csv/manifest.jsonl "
                             "from the folder itself; put the manifest there")
        kw["manifest"] = manifest
    if "dicom_frames" in params:
        kw["dicom_frames"] = config.dicom_frames
    if "hash_files" in params:
        # hash in the decode threads instead (runner.file_sha256), and only files not yet scored
        kw["hash_files"] = False
    metas = discover(root, **kw)
    seen: set[str] = set()
    items: list[Item] = []
    for m in metas:
        if not m.refused and not m.extra.get("load_error"):
            apply_defaults(m, config.defaults)
        if m.image_id in seen:  # image_id is the store's key: score the first, say why not the rest
            log.warning("two inputs share image_id %r; the first is scored, the other skipped", m.image_id)
            continue
        seen.add(m.image_id)
        items.append(Item(m, functools.partial(load_image, m, config)))
    return items


# -- manifest ---------------------------------------------------------------------------------
def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _versions() -> dict[str, str]:
    out: dict[str, str] = {}
    for dist in ("numpy", "scipy", "scikit-image", "pandas", "pillow", "pydicom", "torch", "torchvision",
                 "torchxrayvision", "open_clip_torch"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = ""
    return out


def _device(config: EvalConfig) -> dict[str, Any]:
    """Requested device and, when torch was used, the resolved one (and the GPU's name)."""
    info: dict[str, Any] = {"requested": config.device, "resolved": None, "torch_used": "torch" in sys.modules}
    if "torch" in sys.modules:
        info["resolved"] = config.resolved_device()
        if info["resolved"] == "cuda":
            import torch

            info["name"] = torch.cuda.get_device_name(0)
    elif config.device != "auto":
        info["resolved"] = config.device
    return info


def default_run_dir(parent: str | Path = "anatscore-runs") -> Path:
    """A new timestamped folder ``parent/YYYYmmdd-HHMMSS`` (suffixed ``-2``, ``-3``... if taken)."""
    base = Path(parent) / datetime.now().strftime("%Y%m%d-%H%M%S")
    cand, n = base, 1
    while cand.exists():
        n += 1
        cand = base.with_name(f"{base.name}-{n}")
    return cand


def _config_from_dict(d: Mapping[str, Any]) -> EvalConfig:
    names = {f.name for f in dataclasses.fields(EvalConfig)}
    kw = {k: v for k, v in d.items() if k in names}
    for k in ("checks", "extractors"):
        if k in kw:
            kw[k] = tuple(kw[k])
    return EvalConfig(**kw)


# -- evaluate ---------------------------------------------------------------------------------
def evaluate(
    path_or_images: Union[str, Path, Sequence[ImageLike], Mapping[str, ImageLike], None],
    manifest: Any = None,
    checks: Optional[Iterable[str]] = None,
    reference: Optional[str] = None,
    out: Optional[str | Path] = None,
    config: Optional[EvalConfig] = None,
    *,
    db: Optional[str | Path] = None,
    resume: Optional[str | Path] = None,
    workers: Optional[int] = None,
    batch_size: Optional[int] = None,
    device: Optional[str] = None,
    options: Optional[Mapping[str, Mapping[str, Any]]] = None,
    progress: bool = False,
    **fields: Any,
) -> EvalResult:
    """Score a folder of images (recursively) or in-memory images with the registered checks.

    Args:
        path_or_images: a folder, or arrays / PIL images (a sequence or ``{image_id: image}``);
            may be None with ``resume`` (the run's own input folder is used).
        manifest: for in-memory images, a DataFrame / list of dicts with one row per image
            (``region``, ``modality``, ``view``, ``task``, ``prompt``, ``backend``...). For a
            folder (default: its own ``manifest.csv``/``manifest.jsonl``), a manifest file
            elsewhere (paths relative to the folder; recorded in run.json as ``manifest_file``
            and reused on resume), a DataFrame or a list of dicts.
        checks: glob patterns of check names (default: every registered check).
        reference: a reference set of real images for set-level metrics.
        out: run folder to create (must not exist or be empty); None keeps the run in memory.
        config: a full :class:`EvalConfig`; ``checks``/``reference``/``workers``/
            ``batch_size``/``device`` override its fields when given.
        db: a SQLite file shared by several runs (default: ``anatscore.sqlite`` in ``out``).
        resume: a run folder to finish (a run interrupted at any point, ``kill -9`` included):
            images already committed are kept, the rest are scored, the files re-exported.
        options: per-check options ``{namespace: {key: value}}`` (see :mod:`anatscore.options`),
            merged key by key over ``config.options``; like ``checks``, they cannot change on resume.
        progress: tqdm progress bar on stderr (when stderr is a terminal).
        **fields: metadata for every image (e.g. ``region="hand"``): set on in-memory images
            (their ``manifest`` rows win), and for a folder filling what an image's manifest row,
            sidecar or PNG text leaves empty (``inferred[field] = "set"``); kept in
            ``config.defaults``, fixed on resume.

    Raises:
        RunExistsError: ``out`` already holds files (use ``resume`` or another folder).
        ResumeError: ``resume`` is not an anatscore run folder.
        ValueError: an unknown check pattern, vocabulary value or a bad manifest.
    """
    t_start = time.perf_counter()
    started = _now()
    invocations: list[dict[str, Any]] = []
    overrides = {k: v for k, v in dict(checks=None if checks is None else tuple(checks), reference=reference,
                                       workers=workers, batch_size=batch_size, device=device).items()
                 if v is not None}
    if fields and (path_or_images is None or isinstance(path_or_images, (str, Path))):
        overrides["defaults"] = field_defaults(fields)  # in-memory images get them in memory_items
    if options is not None:
        merged = {ns: dict(kv) for ns, kv in (config.options if config is not None else {}).items()}
        for ns, kv in options.items():
            merged.setdefault(ns, {}).update(kv)
        overrides["options"] = merged
    if resume is not None:
        run_dir: Optional[Path] = Path(resume)
        prev = _read_run_json(run_dir)
        run_id = prev["run_id"]
        db_path: Optional[Path] = Path(prev.get("db") or run_dir / DB_NAME)
        if db is not None and Path(db).resolve() != Path(str(db_path)).resolve():
            raise ResumeError(f"run {run_dir} is stored in {db_path}, not {db}")
        base = _config_from_dict(prev.get("config", {}))
        # only execution settings may change on resume; what is measured stays the same
        keep = {k: v for k, v in overrides.items() if k in ("workers", "batch_size", "device")}
        changed = {k for k in overrides if k not in keep and overrides[k] != getattr(base, k)}
        if changed:
            raise ResumeError(f"cannot change {', '.join(sorted(changed))} when resuming run {run_dir}")
        cfg = dataclasses.replace(base, **keep)
        input_dir = prev.get("input_dir", "")
        prev_manifest = str(prev.get("manifest_file") or "")
        if manifest is None and prev_manifest:
            manifest = prev_manifest  # the remaining images get the same manifest as the first ones
        elif isinstance(manifest, (str, Path)) and str(Path(manifest).resolve()) != prev_manifest:
            raise ResumeError(f"run {run_dir} read manifest {prev_manifest or '(the one in its folder)'}, "
                              f"not {manifest}")
        if path_or_images is None:
            if not input_dir:
                raise ResumeError(f"run {run_dir} scored in-memory images; pass the same images to resume it")
            path_or_images = input_dir
        elif isinstance(path_or_images, (str, Path)):
            if not input_dir or Path(path_or_images).resolve() != Path(input_dir).resolve():
                raise ResumeError(f"run {run_dir} evaluated {input_dir or 'in-memory images'}, not {path_or_images}")
        elif input_dir:
            raise ResumeError(f"run {run_dir} evaluated the folder {input_dir}, not in-memory images")
        started = prev.get("started", started)
        invocations = list(prev.get("invocations", []))
    else:
        cfg = dataclasses.replace(config or EvalConfig(), **overrides)
        run_dir = Path(out) if out is not None else None
        if run_dir is not None and run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
            raise RunExistsError(f"refusing to overwrite {run_dir}: it already exists; use --resume {run_dir} "
                                 "to finish that run, or choose another --out")
        run_id = (f"{run_dir.name}-" if run_dir is not None else "mem-") + uuid.uuid4().hex[:8]
        db_path = Path(db) if db is not None else (run_dir / DB_NAME if run_dir is not None else None)
        input_dir = ""

    from .registry import select_checks

    select_checks(cfg.checks)  # unknown patterns fail here, before anything is created
    if path_or_images is None:
        raise ValueError("give a folder or images to evaluate")
    in_memory = not isinstance(path_or_images, (str, Path))
    t0 = time.perf_counter()
    if in_memory:
        items = memory_items(path_or_images, manifest, **fields)
    else:
        root = Path(path_or_images)
        if not root.exists():
            raise FileNotFoundError(f"input folder {root} does not exist")
        input_dir = str(root.resolve())
        items = folder_items(root, cfg, manifest)
    t_discover = time.perf_counter() - t0

    if cfg.device == "cuda" and Runner.torch_needed(cfg):
        import torch

        if not torch.cuda.is_available():
            raise ValueError("--device cuda was requested but torch sees no CUDA device (use --device auto or cpu)")
    manifest_file = str(Path(manifest).resolve()) if isinstance(manifest, (str, Path)) and not in_memory else ""
    manifest_doc = _manifest(run_id, cfg, input_dir, run_dir, db_path, started, "", "running", invocations, {})
    manifest_doc["manifest_file"] = manifest_file
    if run_dir is not None:
        # run.json first: from here on, whatever kills the process, --resume can find the run
        if resume is None and not run_dir.exists():
            try:  # atomic: of two runs racing for the same (timestamped) folder, one gets it
                run_dir.mkdir(parents=True, exist_ok=False)
            except FileExistsError:
                raise RunExistsError(f"refusing to overwrite {run_dir}: another run just created it") from None
        write_run_json(run_dir, manifest_doc)
    store = RunStore(db_path if db_path is not None else ":memory:", run_id)
    tmp: Optional[tempfile.TemporaryDirectory[str]] = None
    try:
        if not store.run_exists():  # a new run, or one killed before its database row was written
            store.create_run(input_dir, str(run_dir or ""), started, cfg.to_dict())
        elif resume is None:
            raise RunExistsError(f"run id {run_id} is already in database {db_path}")
        else:
            store.mark_running()

        metrics_obj = None
        if cfg.reference:
            from .metrics.run import RunMetrics

            if run_dir is None:
                tmp = tempfile.TemporaryDirectory(prefix="anatscore-")
            metrics_obj = RunMetrics(cfg, run_dir if run_dir is not None else Path(tmp.name), cfg.resolved_device())
        runner = Runner(cfg, store, metrics=metrics_obj, progress=progress)
        stats = runner.run(items)
        stats.timings["discover"] = t_discover

        t0 = time.perf_counter()
        if metrics_obj is not None and runner.metrics is not None:
            metrics_doc = metrics_obj.result()
        elif runner.metrics_error:
            metrics_doc = {"strata": [], "error": runner.metrics_error}
        elif cfg.reference:
            metrics_doc = {"strata": []}
        else:
            metrics_doc = {"strata": [], "note": "no reference set configured (--reference); no set-level metrics"}
        store.save_metrics(metrics_doc)
        stats.timings["metrics"] += time.perf_counter() - t0

        t0 = time.perf_counter()
        headline = [s.name for s in runner.specs if s.headline]
        checks_df = store.checks_frame()
        images_df = store.images_frame(headline)
        refusal_rows = refusal_summary(images_df)
        t_frames = time.perf_counter() - t0
        finished = _now()
        invocations.append(_invocation(stats, started_at=finished, wall=time.perf_counter() - t_start))
        manifest_doc = _manifest(run_id, cfg, input_dir, run_dir, db_path, started, finished, "finished",
                                 invocations, runner.ctx.weights_used, store, runner, metrics_doc)
        manifest_doc["manifest_file"] = manifest_file
        manifest_doc["refusals"] = refusal_counts(refusal_rows)
        store.finish_run(finished, "finished", manifest_doc)
        t0 = time.perf_counter() - t_frames  # the export stage counts reading the frames back
        if run_dir is not None:
            export_run(store, run_dir, checks_df, images_df, headline, manifest_doc, metrics_doc, refusal_rows)
        stats.timings["export"] = time.perf_counter() - t0
        stats.timings["total"] = time.perf_counter() - t_start
        return EvalResult(images=images_df, checks=checks_df, metrics=metrics_doc, manifest=manifest_doc,
                          run_dir=run_dir, timings=dict(stats.timings))
    finally:
        store.close()
        if tmp is not None:
            tmp.cleanup()


def _read_run_json(run_dir: Path) -> dict[str, Any]:
    f = run_dir / "run.json"
    if not f.is_file():
        raise ResumeError(f"{run_dir} is not an anatscore run folder (no run.json)")
    try:
        doc = json.loads(f.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ResumeError(f"{f} is not valid JSON: {exc}") from exc
    if "run_id" not in doc:
        raise ResumeError(f"{f} has no run_id")
    return doc


def _invocation(stats: RunStats, started_at: str, wall: float) -> dict[str, Any]:
    return {
        "finished": started_at,
        "processed": stats.processed,
        "already_done": stats.skipped_done,
        "wall_s": round(wall, 4),
        "timings_s": {k: round(v, 4) for k, v in sorted(stats.timings.items())},
    }


def _manifest(run_id: str, cfg: EvalConfig, input_dir: str, run_dir: Optional[Path], db_path: Optional[Path],
              started: str, finished: str, status: str, invocations: list[dict[str, Any]],
              weights_used: Mapping[str, str], store: Optional[RunStore] = None,
              runner: Optional[Runner] = None, metrics_doc: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
    """The ``run.json`` document."""
    counts: dict[str, int] = {}
    if store is not None:
        c = store.counts()
        counts = {"images": sum(c.values()), "scored": c[LOAD_OK], "failed": c[LOAD_FAILED],
                  "refused": c[LOAD_REFUSED], "check_errors": store.check_error_count()}
    models = [{"name": n, "sha256": h} for n, h in sorted(weights_used.items())]
    if runner is not None:
        for name in sorted(runner.ctx.models):
            if name not in weights_used:
                models.append({"name": name, "sha256": ""})
    extractors = (metrics_doc or {}).get("extractors")
    if isinstance(extractors, Mapping):  # feature extractors of the set-level metrics
        for name, info in sorted(extractors.items()):
            sha = info.get("weights_sha256", "") if isinstance(info, Mapping) else ""
            models.append({"name": f"extractor:{name}", "sha256": sha or ""})
    return {
        "run_id": run_id,
        "status": status,
        "anatscore_version": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "versions": _versions(),
        "device": _device(cfg),
        "config": cfg.to_dict(),
        "checks": [s.name for s in runner.specs] if runner is not None else [],
        "models": models,
        "input_dir": input_dir,
        "run_dir": str(run_dir.resolve()) if run_dir is not None else "",
        "db": str(db_path.resolve()) if db_path is not None else "",
        "started": started,
        "finished": finished,
        "counts": counts,
        "invocations": invocations,
    }


# -- single checks ----------------------------------------------------------------------------
def run_check(
    name: str,
    image: ImageLike,
    config: Optional[EvalConfig] = None,
    ctx: Optional[CheckContext] = None,
    **fields: Any,
) -> CheckResult:
    """Run one registered check on one in-memory image and return its :class:`CheckResult`.

    ``fields`` set the image's metadata (``region="hand"``, ``modality="xray"``...). A check
    that does not apply returns a not-applicable result with the reason; errors raise (a direct
    call is a programming context, unlike a run). Pass ``ctx`` to reuse loaded models.

    >>> import numpy as np, anatscore
    >>> anatscore.run_check("load", np.arange(64, dtype=np.uint8).reshape(8, 8)).passed
    True
    """
    spec = check_spec(name)
    meta = _normalised_meta(ImageMeta(image_id="image", path="image"), fields)
    img = image if isinstance(image, LoadedImage) else image_from_array(image, meta)
    ok, why = applies(spec, img.meta)
    why = why or image_gates(spec, img)
    if why:
        return CheckResult.na(name, why)
    ctx = ctx or CheckContext(config=config or EvalConfig())
    if spec.batch_target:
        import torch

        with torch.inference_mode():
            return list(resolve(spec.batch_target)([img], ctx))[0]
    return resolve(spec.target)(img, ctx)
