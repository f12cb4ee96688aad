"""Find the images under a folder and attach what a manifest or sidecar says about them.

Rules (also in the README's "Inputs" section):

- Every file under the folder (recursively; hidden files and folders skipped; directory symlinks
  not followed) whose suffix is an image suffix, plus extension-less files that carry the DICOM
  ``DICM`` marker, is an image. Each gets ``sha256`` and ``size_bytes``.
- With ``manifest.csv``/``manifest.jsonl`` in the folder, each row's fields are attached to its
  image. A row that cannot be scored (unknown vocabulary value, path outside the folder, listed
  file missing) becomes a record with ``extra["load_error"]`` = the reason; the runner writes it
  as a failed ``load`` and goes on. ``refused=true`` rows become records with ``refused=True``
  (never decoded, not failures), with or without a file.
- Originals and masks named by the manifest are inputs to inpainting checks, not scored images.
- Images the manifest does not list are scored too, with fields from a sidecar JSON or PNG text
  chunks if present (``meta.inferred[field] = "sidecar" | "png-text:..."``), else empty.
- ``dicom_frames="all"`` expands multi-frame DICOM files to one record per frame
  (``image_id`` = ``path`` for frame 0, ``path#frame=N`` for the others).
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from pathlib import Path
from typing import Any, Iterable, Optional

from ..types import ImageMeta
from .manifest import (
    ManifestError,
    ManifestRow,
    find_manifest,
    inside,
    read_manifest,
    read_png_text,
    read_sidecar,
    records_to_rows,
    rel_posix,
    safe_listdir_files,
    sidecar_for,
    validate_rows,
)

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".dcm", ".dicom"}
#: Companion files expected next to images (manifests, sidecars, notes): skipped without a warning.
NOT_IMAGE_SUFFIXES = {".json", ".jsonl", ".csv", ".txt", ".md", ".yaml", ".yml", ".html", ".sqlite", ".log"}

__all__ = ["IMAGE_SUFFIXES", "ManifestError", "discover", "sha256_file"]


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _is_image_file(p: Path) -> bool:
    suffix = p.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return True
    if suffix == "":
        try:
            with open(p, "rb") as fh:
                head = fh.read(132)
        except OSError:
            return False
        return head[128:132] == b"DICM"
    return False


def discover(
    root: str | os.PathLike[str],
    *,
    manifest: str | os.PathLike[str] | Any = None,
    dicom_frames: str = "first",
    hash_files: bool = True,
) -> list[ImageMeta]:
    """Every image under ``root`` (recursively) as ImageMeta, sorted by ``image_id``.

    Args:
        root: the input folder (a single image file is accepted too).
        manifest: an explicit manifest: a ``.csv``/``.jsonl`` file, a pandas DataFrame or a list
            of dicts (same columns); default ``root/manifest.csv|jsonl`` if present.
        dicom_frames: ``"first"`` (one record per file) or ``"all"`` (one per DICOM frame).
        hash_files: compute ``sha256`` (the default; turn off only for quick listings).

    Raises:
        ManifestError: the manifest as a whole is unreadable (e.g. no ``path`` column).
        FileNotFoundError: ``root`` does not exist.
    """
    root_p = Path(root)
    if not root_p.exists():
        raise FileNotFoundError(f"input folder {root_p} does not exist")
    if root_p.is_file():
        return [_file_meta(root_p.parent, root_p, hash_files)]
    mpath: Optional[Path] = None
    if manifest is None:
        mpath = find_manifest(root_p)
        rows = read_manifest(root_p, mpath) if mpath is not None else []
    elif isinstance(manifest, (str, os.PathLike)):
        mpath = Path(manifest)
        if not mpath.is_file():
            raise ManifestError(f"manifest file {mpath} does not exist")
        rows = read_manifest(root_p, mpath)
    else:
        rows = validate_rows(records_to_rows(manifest))

    records: list[ImageMeta] = []
    listed: set[Path] = set()
    aux: set[Path] = set()
    if mpath is not None:
        try:
            listed.add(mpath.resolve())
        except OSError:
            pass
    seen_ids: set[str] = set()
    for row in rows:
        meta = _row_meta(root_p, row, listed, aux, hash_files)
        if meta is None:
            continue
        if meta.image_id in seen_ids:
            warnings.warn(f"manifest line {row.line}: {row.path!r} listed twice; the first row is used",
                          stacklevel=2)
            continue
        seen_ids.add(meta.image_id)
        records.append(meta)

    skipped: dict[str, int] = {}
    for f in safe_listdir_files(root_p):
        if not _is_image_file(f):
            suffix = "".join(f.suffixes[-2:]).lower() if f.suffix.lower() == ".gz" else f.suffix.lower()
            if suffix not in NOT_IMAGE_SUFFIXES:
                skipped[suffix or "(no suffix)"] = skipped.get(suffix or "(no suffix)", 0) + 1
            continue
        try:
            resolved = f.resolve()
        except OSError:
            continue
        if resolved in listed or resolved in aux:
            continue
        rel = f.relative_to(root_p).as_posix()
        _, why = inside(root_p, rel)
        if why:
            records.append(_error_meta(rel, why))
            continue
        meta = _file_meta(root_p, f, hash_files)
        if meta.image_id in seen_ids:
            continue
        _attach_own_metadata(meta, f)
        seen_ids.add(meta.image_id)
        records.append(meta)

    if skipped:  # a user should know that e.g. their .gif or .nii.gz generations were not scored
        what = ", ".join(f"{n} {sfx}" for sfx, n in sorted(skipped.items(), key=lambda kv: (-kv[1], kv[0])))
        log.warning("%d files under %s are not in a format anatscore reads and were skipped: %s "
                    "(read: %s)", sum(skipped.values()), root_p, what, " ".join(sorted(IMAGE_SUFFIXES)))
    if dicom_frames == "all":
        records = list(_expand_frames(records))
    elif dicom_frames != "first":
        raise ValueError(f"dicom_frames must be 'first' or 'all', not {dicom_frames!r}")
    records.sort(key=lambda m: m.image_id)
    return records


def _file_meta(root: Path, f: Path, hash_files: bool) -> ImageMeta:
    rel = f.relative_to(root).as_posix() if f.is_relative_to(root) else f.name
    st = f.stat()
    return ImageMeta(
        image_id=rel,
        path=rel,
        abspath=str(f.resolve()),
        sha256=sha256_file(f) if hash_files else "",
        size_bytes=st.st_size,
    )


def _error_meta(image_id: str, reason: str, **fields: Any) -> ImageMeta:
    meta = ImageMeta(image_id=image_id, path=image_id, **fields)
    meta.extra["load_error"] = reason
    return meta


def _row_meta(root: Path, row: ManifestRow, listed: set[Path], aux: set[Path],
              hash_files: bool) -> Optional[ImageMeta]:
    """ImageMeta for one manifest row (an error record when the row cannot be scored)."""
    fields = dict(row.fields)
    refused = bool(fields.pop("refused", False))
    image_id = row.path or f"refused#line={row.line}"
    safe = {k: v for k, v in fields.items() if k not in ("original", "mask")}
    if row.error:
        if row.path:
            target, _ = inside(root, row.path)
            if target is not None:  # same id as the file itself, so it is not scored twice
                listed.add(target)
                image_id = rel_posix(root, target)
        meta = _error_meta(image_id, row.error)
        meta.extra["manifest_line"] = row.line
        return meta
    meta = ImageMeta(image_id=image_id, path=row.path, refused=refused, **safe)
    meta.extra["manifest_line"] = row.line
    if row.extra:
        meta.extra["manifest_extra"] = dict(row.extra)
    problems: list[str] = []
    for key in ("original", "mask"):
        rel = str(fields.get(key) or "")
        if not rel:
            continue
        target, why = inside(root, rel)
        if target is None:
            problems.append(f"{key}: {why}")
            continue
        aux.add(target)
        if not target.is_file():
            problems.append(f"{key} file {rel!r} listed in the manifest is missing")
            continue
        setattr(meta, key, rel_posix(root, target))
        meta.extra[f"{key}_abspath"] = str(target)
    if row.path:
        target, why = inside(root, row.path)
        if target is None:
            problems.insert(0, why)
        else:
            listed.add(target)
            if target.is_file():
                meta.path = rel_posix(root, target)
                meta.image_id = meta.path
                meta.abspath = str(target)
                meta.size_bytes = target.stat().st_size
                if hash_files:
                    meta.sha256 = sha256_file(target)
            elif not refused:
                problems.insert(0, f"file {row.path!r} listed in the manifest is missing")
    if problems and not refused:
        meta.extra["load_error"] = f"manifest line {row.line}: " + "; ".join(problems)
    return meta


def _attach_own_metadata(meta: ImageMeta, f: Path) -> None:
    """Fields from a sidecar JSON, else (PNG) from text chunks; recorded in ``meta.inferred``."""
    side = sidecar_for(f)
    fields: dict[str, Any] = {}
    source = ""
    if side is not None:
        fields, problem = read_sidecar(side)
        source = "sidecar"
        if problem:
            meta.extra["metadata_problem"] = problem
            log.warning("%s: %s", meta.image_id, problem)
    if not fields and f.suffix.lower() == ".png":
        fields, source = read_png_text(f)
    for key, value in fields.items():
        if key == "refused":
            meta.refused = bool(value)
            continue
        if hasattr(meta, key) and value not in ("", None):
            setattr(meta, key, value)
            meta.inferred[key] = source


def _expand_frames(records: Iterable[ImageMeta]) -> Iterable[ImageMeta]:
    import copy

    import pydicom

    for meta in records:
        yield meta
        if not meta.abspath or meta.extra.get("load_error") or meta.refused:
            continue
        if not (meta.abspath.lower().endswith((".dcm", ".dicom")) or _is_image_file(Path(meta.abspath))
                and Path(meta.abspath).suffix == ""):
            continue
        try:
            ds = pydicom.dcmread(meta.abspath, stop_before_pixels=True, force=True)
            n = int(ds.get("NumberOfFrames", 1) or 1)
        except Exception:  # noqa: BLE001 - the decoder reports unreadable files
            continue
        meta.extra["n_frames"] = n
        for i in range(1, n):
            m = copy.deepcopy(meta)
            m.image_id = f"{meta.path}#frame={i}"
            m.extra["frame"] = i
            yield m
