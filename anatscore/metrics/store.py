"""Disk-backed, append-only, resume-safe store of per-image feature vectors keyed by image_id.

Layout of a store folder::

    identity.json          what produced the features (extractor, preprocessing, weights hash)
    shard-000001.npy       float32 (n, dim) features of one added batch
    shard-000001.json      {"ids": [...], "meta": [{...}, ...]}: the shard's commit marker

Each file is written to a temporary name, fsync'd and renamed, the ``.npy`` before its ``.json``;
a shard counts only once its ``.json`` exists. So after a kill -9 at any point a batch is either
wholly present or wholly absent, and :meth:`FeatureStore.add` ignores image_ids already stored:
nothing is lost (once ``add`` has returned) or counted twice. A store whose ``identity.json``
differs from the extractor asking for it is refused rather than mixed.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import numpy as np


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a fsync'd temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def atomic_save_npy(path: Path, array: np.ndarray) -> None:
    """``np.save`` through :func:`atomic_write_bytes`."""
    import io

    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array))
    atomic_write_bytes(path, buf.getvalue())


class StoreMismatchError(RuntimeError):
    """A store on disk was written by a different extractor / preprocessing."""


class FeatureStore:
    """Per-image features on disk (see module docstring). ``len(store)`` = images stored."""

    def __init__(self, root: "str | os.PathLike[str]", identity: Optional[dict[str, Any]] = None) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        ident_path = self.root / "identity.json"
        if identity is not None:
            if ident_path.is_file():
                found = json.loads(ident_path.read_text())
                if found != json.loads(json.dumps(identity)):
                    raise StoreMismatchError(
                        f"feature store {self.root} was written by {found.get('extractor')} with a different "
                        f"configuration ({found}); refusing to mix features. Use a new run folder."
                    )
            else:
                atomic_write_bytes(ident_path, json.dumps(identity, sort_keys=True, indent=1).encode())
        self._shards: list[tuple[Path, list[str], list[dict[str, Any]]]] = []
        self._index: dict[str, tuple[int, int]] = {}  # image_id -> (shard number, row)
        self._next = 1
        self._scan()

    def _scan(self) -> None:
        numbers = []
        for marker in sorted(self.root.glob("shard-*.json")):
            num = int(marker.stem.split("-")[1])
            npy = marker.with_suffix(".npy")
            if not npy.is_file():
                continue
            doc = json.loads(marker.read_text())
            self._add_shard(npy, doc["ids"], doc["meta"])
            numbers.append(num)
        for partial in self.root.glob(".shard-*.tmp"):  # a write cut short by a kill
            partial.unlink(missing_ok=True)
        for orphan in self.root.glob("shard-*.npy"):  # data written, commit marker not: a kill
            numbers.append(int(orphan.stem.split("-")[1]))
        self._next = max(numbers, default=0) + 1

    def _add_shard(self, npy: Path, ids: list[str], meta: list[dict[str, Any]]) -> None:
        k = len(self._shards)
        self._shards.append((npy, ids, meta))
        for row, image_id in enumerate(ids):
            self._index.setdefault(image_id, (k, row))  # first occurrence wins

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, image_id: object) -> bool:
        return image_id in self._index

    def add(self, ids: Sequence[str], features: np.ndarray, meta: Optional[Sequence[dict[str, Any]]] = None) -> int:
        """Store the rows whose id is new; returns how many were stored. Durable on return."""
        features = np.asarray(features, np.float32)
        if features.ndim != 2 or features.shape[0] != len(ids):
            raise ValueError(f"expected ({len(ids)}, dim) features, got {features.shape}")
        meta = list(meta) if meta is not None else [{} for _ in ids]
        keep, seen = [], set()
        for i, image_id in enumerate(ids):
            if image_id not in self._index and image_id not in seen:
                keep.append(i)
                seen.add(image_id)
        if not keep:
            return 0
        name = f"shard-{self._next:06d}"
        self._next += 1
        npy = self.root / f"{name}.npy"
        kept_ids = [str(ids[i]) for i in keep]
        kept_meta = [dict(meta[i]) for i in keep]
        atomic_save_npy(npy, features[keep])
        atomic_write_bytes(self.root / f"{name}.json", json.dumps({"ids": kept_ids, "meta": kept_meta}).encode())
        self._add_shard(npy, kept_ids, kept_meta)
        return len(keep)

    def ids(self) -> list[str]:
        """Stored image_ids in insertion order."""
        return list(self._index)

    def meta(self) -> list[dict[str, Any]]:
        """Per-image metadata, aligned with :meth:`ids`."""
        return [self._shards[k][2][row] for k, row in self._index.values()]

    def features(self, ids: Optional[Iterable[str]] = None) -> np.ndarray:
        """(n, dim) float32 features of ``ids`` (all stored, in :meth:`ids` order, by default)."""
        wanted = list(self._index) if ids is None else list(ids)
        if not wanted:
            return np.zeros((0, self.dim), np.float32)
        maps = {}
        rows = []
        for image_id in wanted:
            k, row = self._index[image_id]
            if k not in maps:
                maps[k] = np.load(self._shards[k][0], mmap_mode="r")
            rows.append(maps[k][row])
        return np.stack(rows).astype(np.float32)

    @property
    def dim(self) -> int:
        if not self._shards:
            return 0
        return int(np.load(self._shards[0][0], mmap_mode="r").shape[1])


class FeatureSet:
    """Features accumulated for one set: in a :class:`FeatureStore` on disk, or in RAM for one-shot use.

    The streaming form shared by the sample-based metrics (KID, CMMD, PRDC): ``update`` adds rows,
    ``merge`` adds another set's rows, ``features`` returns them all.
    """

    def __init__(self, store: Optional[FeatureStore] = None) -> None:
        self.store = store
        self._chunks: list[np.ndarray] = []
        self._auto = 0

    def update(self, features: np.ndarray, ids: Optional[Sequence[str]] = None) -> None:
        features = np.asarray(features, np.float32)
        if self.store is None:
            self._chunks.append(features.copy())
            return
        if ids is None:
            ids = [f"#{self._auto + i}" for i in range(len(features))]
            self._auto += len(features)
        self.store.add(ids, features)

    def merge(self, other: "FeatureSet") -> "FeatureSet":
        if self.store is not None and other.store is not None:
            self.store.add(other.store.ids(), other.store.features(), other.store.meta())
        else:
            self.update(other.features())
        return self

    def features(self) -> np.ndarray:
        if self.store is not None:
            return self.store.features()
        return np.concatenate(self._chunks) if self._chunks else np.zeros((0, 0), np.float32)

    def __len__(self) -> int:
        return len(self.store) if self.store is not None else sum(len(c) for c in self._chunks)
