"""Reference sets: real images featurised once, stored in a self-describing ``.npz``.

A built reference file holds, per extractor, the (n, dim) float32 features and the extractor's
identity (name, preprocessing, features version, weights sha256), plus per-image ids, sha256 and
modality/region/view. ``--reference`` accepts a folder or such a file:

- a **folder** is hashed (sorted sha256 of its image files); each extractor's features are looked
  up in the cache ``$ANATSCORE_HOME/reference/<extractor>-<key>.npz`` where ``key`` =
  sha256(extractor identity, sorted file hashes, metadata overrides), and computed + cached when
  absent;
- a **file** is used only if every requested extractor is in it with exactly the identity the
  current code and weights give; anything else raises :class:`StaleReferenceError` (a stale
  reference is never used silently).

All writes are atomic (temporary file + fsync + rename).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

import numpy as np

from ..features import FeatureExtractor, sha256_file
from .store import atomic_write_bytes

log = logging.getLogger(__name__)

FORMAT = "anatscore-reference/1"
META_FIELDS = ("modality", "region", "view")


class StaleReferenceError(RuntimeError):
    """A reference file was built with a different extractor / preprocessing / weights."""


@dataclass
class ReferenceSet:
    """Featurised real images: ids, hashes, metadata and features by extractor name."""

    ids: list[str]
    sha256: list[str]
    meta: list[dict[str, str]]
    features: dict[str, np.ndarray] = field(default_factory=dict)
    identities: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = ""
    skipped: list[dict[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    def save(self, path: "str | Path") -> Path:
        """Write the ``.npz`` atomically; returns the path."""
        header = {
            "format": FORMAT,
            "ids": self.ids,
            "sha256": self.sha256,
            "meta": self.meta,
            "identities": self.identities,
            "source": self.source,
            "skipped": self.skipped,
        }
        arrays = {f"features__{k}": np.asarray(v, np.float32) for k, v in self.features.items()}
        buf = io.BytesIO()
        np.savez(buf, header=np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays)
        path = Path(path)
        atomic_write_bytes(path, buf.getvalue())
        return path

    @classmethod
    def load(cls, path: "str | Path") -> "ReferenceSet":
        with np.load(Path(path), allow_pickle=False) as z:
            header = json.loads(bytes(z["header"]).decode())
            if header.get("format") != FORMAT:
                raise StaleReferenceError(f"{path}: not an anatscore reference file of format {FORMAT}")
            feats = {k.split("__", 1)[1]: np.asarray(z[k]) for k in z.files if k.startswith("features__")}
        return cls(
            header["ids"], header["sha256"], header["meta"], feats, header["identities"], header.get("source", ""), header.get("skipped", [])
        )

    def check(self, extractor: FeatureExtractor) -> np.ndarray:
        """The features of ``extractor`` if this set holds them with the same identity, else raise."""
        want = json.loads(json.dumps(extractor.identity()))
        have = self.identities.get(extractor.name)
        if have is None or extractor.name not in self.features:
            raise StaleReferenceError(
                f"reference {self.source or ''} has no {extractor.name!r} features; rebuild it with "
                f"`anatscore reference build REF_DIR --extractors {extractor.name} --out REF.npz`"
            )
        if have != want:
            diff = sorted(k for k in set(have) | set(want) if have.get(k) != want.get(k))
            raise StaleReferenceError(
                f"reference {self.source or ''} was built for {extractor.name} with different {', '.join(diff)} "
                f"(file: { {k: have.get(k) for k in diff} }, now: { {k: want.get(k) for k in diff} }); rebuild it"
            )
        return self.features[extractor.name]


def _reference_images(ref_dir: Path, overrides: Mapping[str, str], skipped: list[dict[str, str]]) -> list[Any]:
    """Discovered reference images (manifest/sidecar metadata, overrides applied), hashed."""
    from ..io.discover import discover

    metas = []
    for m in discover(ref_dir):
        why = m.extra.get("load_error") or ("" if m.abspath else "no file") or ("refused" if m.refused else "")
        if why:
            skipped.append({"path": m.path, "reason": str(why)})
            log.warning("reference image %s skipped: %s", m.path, why)
            continue
        for key in META_FIELDS:
            if overrides.get(key):
                setattr(m, key, overrides[key])
        if not m.sha256:
            m.sha256 = sha256_file(m.abspath)
        metas.append(m)
    return metas


def folder_key(extractor: FeatureExtractor, hashes: Iterable[str], overrides: Mapping[str, str]) -> str:
    """Cache key: extractor identity + sorted file hashes + metadata overrides."""
    doc = {"identity": extractor.identity(), "files": sorted(hashes), "overrides": dict(sorted(overrides.items()))}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def cache_dir() -> Path:
    from ..paths import home

    return home() / "reference"


def featurise_folder(
    ref_dir: "str | Path",
    extractors: Sequence[FeatureExtractor],
    overrides: Optional[Mapping[str, str]] = None,
    batch_size: int = 16,
    use_cache: bool = True,
) -> ReferenceSet:
    """Features of every image under ``ref_dir`` for each extractor (cached per extractor)."""
    from ..io.loading import LoadError, load_image

    ref_dir = Path(ref_dir)
    overrides = {k: v for k, v in (overrides or {}).items() if v}
    skipped: list[dict[str, str]] = []
    metas = _reference_images(ref_dir, overrides, skipped)
    if not metas:
        raise ValueError(f"no images found under reference folder {ref_dir}")
    cached: dict[str, ReferenceSet] = {}
    todo = []
    for ex in extractors:
        path = cache_dir() / f"{ex.name}-{folder_key(ex, (m.sha256 for m in metas), overrides)}.npz"
        if use_cache and path.is_file():
            try:
                got = ReferenceSet.load(path)
                got.check(ex)
                cached[ex.name] = got
                log.info("reference features for %s from cache %s", ex.name, path)
                continue
            except (StaleReferenceError, OSError, ValueError, KeyError) as exc:
                log.warning("ignoring unusable reference cache %s: %s", path, exc)
        todo.append((ex, path))
    ids: list[str] = []
    hashes: list[str] = []
    meta: list[dict[str, str]] = []
    feats: dict[str, list[np.ndarray]] = {ex.name: [] for ex, _ in todo}
    if todo:
        for start in range(0, len(metas), batch_size):
            batch = []
            for m in metas[start : start + batch_size]:
                try:
                    batch.append(load_image(m))
                except LoadError as exc:
                    skipped.append({"path": m.path, "reason": str(exc)})
                    log.warning("reference image %s skipped: %s", m.path, exc)
            if not batch:
                continue
            for ex, _ in todo:
                feats[ex.name].append(ex.extract(batch))
            for im in batch:
                ids.append(im.meta.image_id)
                hashes.append(im.meta.sha256)
                meta.append({k: getattr(im.meta, k) for k in META_FIELDS})
    out = ReferenceSet(ids, hashes, meta, source=str(ref_dir), skipped=skipped)
    for ex, path in todo:
        out.features[ex.name] = np.concatenate(feats[ex.name]) if feats[ex.name] else np.zeros((0, ex.dim), np.float32)
        out.identities[ex.name] = json.loads(json.dumps(ex.identity()))
        if use_cache:
            single = ReferenceSet(ids, hashes, meta, {ex.name: out.features[ex.name]}, {ex.name: out.identities[ex.name]}, str(ref_dir), skipped)
            single.save(path)
    for name, got in cached.items():
        if not out.ids:
            out.ids, out.sha256, out.meta, out.skipped = got.ids, got.sha256, got.meta, got.skipped
        elif got.ids != out.ids:  # align rows by image_id (cache from the same files, other order)
            pos = {i: r for r, i in enumerate(got.ids)}
            got.features[name] = got.features[name][[pos[i] for i in out.ids]]
        out.features[name] = got.features[name]
        out.identities[name] = got.identities[name]
    return out


def load_reference(
    reference: "str | Path",
    extractors: Sequence[FeatureExtractor],
    overrides: Optional[Mapping[str, str]] = None,
    batch_size: int = 16,
) -> ReferenceSet:
    """``--reference``: a folder (featurised through the cache) or a built ``.npz`` (checked)."""
    path = Path(reference)
    if path.is_dir():
        return featurise_folder(path, extractors, overrides, batch_size)
    if not path.is_file():
        raise FileNotFoundError(f"reference {path} is neither a folder of images nor a built reference file")
    ref = ReferenceSet.load(path)
    ref.source = str(path)
    for ex in extractors:
        ref.check(ex)
    return ref


def build_reference(
    ref_dir: "str | Path",
    out: "str | Path",
    extractors: Sequence[FeatureExtractor],
    overrides: Optional[Mapping[str, str]] = None,
    batch_size: int = 16,
) -> ReferenceSet:
    """``anatscore reference build``: featurise ``ref_dir`` and write ``out`` atomically."""
    ref = featurise_folder(ref_dir, extractors, overrides, batch_size)
    ref.save(out)
    return ref
