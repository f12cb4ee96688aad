"""Reference-gallery classifier: k nearest labelled real images in a feature space.

Users without CLIP weights, and our real-data tests, get modality / region / view predictions
from a *gallery* of labelled real reference images: every query image is embedded by a feature
extractor and labelled by a distance-weighted vote of its ``k`` nearest gallery images.

Feature extractors follow a two-member protocol (:class:`FeatureExtractor`): ``name`` and
``extract(images) -> ndarray (N, D)``:

- :class:`HandcraftedFeatures` (weight-free, always available): intensity histogram, black/white
  fractions, an 8x8 layout thumbnail of intensity and of local contrast (fan, black surround,
  collimation), local-binary-pattern texture at two scales (speckle vs. smooth film), gradient
  statistics, colour cast, aspect ratio.
- any extractor registered in :data:`anatscore.registry.EXTRACTORS`, e.g. ``inception`` (the
  2048-d pool features of the standard FID Inception-v3, the one the realism metrics use), via
  :func:`extractor_for`.

The gallery is featurised once: :meth:`GalleryClassifier.save` writes features and labels to an
``.npz`` and :class:`FeatureCache` keeps per-image features on disk keyed by the pixel content, so
re-running a benchmark or rebuilding a gallery re-uses them.

Classification rule. Features are standardised with the gallery's mean and standard deviation,
L2-normalised, and compared by cosine similarity ``s``. Of the ``k`` most similar gallery images
that carry a label for the task, each votes for its label with weight ``exp(s / T)``
(``T = 0.1``); probabilities are the normalised votes over every label the gallery knows.

Example::

    >>> import numpy as np
    >>> feats = np.array([[0, 1.0], [0, 1.1], [1.0, 0], [1.1, 0]])
    >>> g = GalleryClassifier(feats, {"modality": ["ct", "ct", "us", "us"]}, extractor=None, k=2)
    >>> max(g.predict_features(np.array([[0.05, 1.0]]), "modality")[0].items(), key=lambda kv: kv[1])[0]
    'ct'
"""

from __future__ import annotations

import csv
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Protocol, Sequence

import numpy as np

from ..types import ImageMeta, LoadedImage
from . import TASKS

log = logging.getLogger(__name__)


class FeatureExtractor(Protocol):
    """Anything that embeds images: ``extract`` returns float32 (N, D), one row per image."""

    name: str

    def extract(self, images: Sequence[LoadedImage]) -> np.ndarray:
        ...


# ------------------------------------------------------------------------------------------------
# weight-free features


def _resize(a: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize to ``shape``: integer block means first (cheap area averaging of large images),
    then scikit-image's anti-aliased bilinear ``resize`` for the remaining factor."""
    from skimage.transform import downscale_local_mean, resize

    f = int(min(a.shape[0] // (2 * shape[0]), a.shape[1] // (2 * shape[1])))
    if f >= 2:
        h, w = a.shape[0] // f * f, a.shape[1] // f * f
        factors = (f, f) + (1,) * (a.ndim - 2)
        a = downscale_local_mean(a[:h, :w].astype(np.float32), factors)
    return resize(a, shape + a.shape[2:], order=1, anti_aliasing=True, preserve_range=True).astype(np.float32)


@dataclass
class HandcraftedFeatures:
    """Weight-free image descriptor (about 190 numbers) for modality / region retrieval.

    Computed on the grey image resized to ``side x side`` (aspect ratio kept as a feature):

    - 32-bin intensity histogram; fractions of pixels < 0.02 and > 0.98;
    - 8x8 block means of intensity and of local standard deviation (5x5 window): the layout of
      the content (ultrasound fan, CT/MR body on a black surround, collimated radiograph);
    - uniform local binary pattern histograms (P=8, R=1) at ``side`` and ``side / 2``: texture
      (speckle, film grain, smooth digital images);
    - 8-bin histogram of gradient magnitude; colour cast and fraction of coloured pixels;
      log aspect ratio.
    """

    side: int = 128
    name: str = "handcrafted"
    version: str = "2"  # bump when the descriptor changes, so cached features are not reused

    def extract(self, images: Sequence[LoadedImage]) -> np.ndarray:
        return np.stack([self.one(im) for im in images]).astype(np.float32)

    def one(self, image: LoadedImage) -> np.ndarray:
        """Descriptor of one image (see the class docstring)."""
        from scipy import ndimage as ndi
        from skimage.feature import local_binary_pattern

        g = np.clip(np.nan_to_num(image.grey.astype(np.float32)), 0, 1)
        h, w = g.shape
        s = _resize(g, (self.side, self.side))
        hist = np.histogram(s, bins=32, range=(0, 1))[0] / s.size
        extremes = [float((s < 0.02).mean()), float((s > 0.98).mean())]
        mean = ndi.uniform_filter(s, 5)
        local_sd = np.sqrt(np.maximum(ndi.uniform_filter(s * s, 5) - mean * mean, 0))
        b = self.side // 8
        blocks = s.reshape(8, b, 8, b).mean(axis=(1, 3)).ravel()
        sd_blocks = local_sd.reshape(8, b, 8, b).mean(axis=(1, 3)).ravel()
        lbps = []
        for img in (s, _resize(s, (self.side // 2, self.side // 2))):
            q = np.round(img * 255).astype(np.uint8)
            lbp = local_binary_pattern(q, P=8, R=1, method="uniform")
            lbps.append(np.bincount(lbp.astype(int).ravel(), minlength=10)[:10] / lbp.size)
        gy, gx = np.gradient(s)
        gm = np.hypot(gx, gy)
        ghist = np.histogram(gm, bins=8, range=(0, 0.2))[0] / gm.size
        cast, coloured = 0.0, 0.0
        if image.colour is not None and image.colour.ndim == 3:
            rgb = _resize(image.colour[..., :3].astype(np.float32) / 255.0, (64, 64))
            grey = rgb.mean(axis=2)
            cast = float(np.abs(np.median(rgb - grey[..., None], axis=(0, 1))).max())
            coloured = float(((rgb.max(axis=2) - rgb.min(axis=2)) > 0.1).mean())
        tail = [cast, coloured, float(np.log(w / max(h, 1)))]
        return np.concatenate([hist, extremes, blocks, sd_blocks, *lbps, ghist, tail]).astype(np.float32)


def extractor_for(name: str, device: str = "cpu", **kwargs: Any) -> FeatureExtractor:
    """A feature extractor by name: ``handcrafted``, or any extractor registered in
    :data:`anatscore.registry.EXTRACTORS` (``inception``, ``radiomic``, ...), built through
    :func:`anatscore.features.build_extractor` (weights come from the weights manager unless
    ``weights=PATH`` is given; missing weights raise ``WeightsMissingError`` naming the command).
    """
    if name == "handcrafted":
        return HandcraftedFeatures(**kwargs)
    from ..features import build_extractor

    return build_extractor(name, device=device, **kwargs)  # type: ignore[return-value]


# ------------------------------------------------------------------------------------------------
# caching


class FeatureCache:
    """Per-image features on disk, keyed by extractor name and the image's pixel content.

    Files live under ``<root>/<name>-<class>[-v<version>]/<sha256[:2]>/<sha256>.npy`` (an
    extractor's optional ``version`` attribute keeps stale features from being reused); the
    default root is ``$ANATSCORE_HOME/cache/features``.
    """

    def __init__(self, root: Optional[Path] = None) -> None:
        if root is None:
            from ..paths import home

            root = home() / "cache" / "features"
        self.root = Path(root)

    @staticmethod
    def key(image: LoadedImage) -> str:
        """sha256 of the grey pixels and shape (independent of file name and format)."""
        g = np.ascontiguousarray(image.grey, dtype=np.float32)
        h = hashlib.sha256(str(g.shape).encode())
        h.update(g.tobytes())
        return h.hexdigest()

    def _path(self, extractor: FeatureExtractor, key: str) -> Path:
        # the class name too: two implementations of "inception" may preprocess differently
        tag = f"{extractor.name}-{type(extractor).__name__}"
        tag += f"-v{extractor.version}" if getattr(extractor, "version", "") else ""
        return self.root / tag / key[:2] / f"{key}.npy"

    def extract(self, extractor: FeatureExtractor, images: Sequence[LoadedImage]) -> np.ndarray:
        """Features of ``images``, computing (in one batch) only those not cached yet."""
        keys = [self.key(im) for im in images]
        rows: list[Optional[np.ndarray]] = []
        for k in keys:
            p = self._path(extractor, k)
            rows.append(np.load(p) if p.is_file() else None)
        todo = [i for i, r in enumerate(rows) if r is None]
        if todo:
            feats = extractor.extract([images[i] for i in todo])
            for i, f in zip(todo, feats):
                p = self._path(extractor, keys[i])
                p.parent.mkdir(parents=True, exist_ok=True)
                tmp = p.with_suffix(".tmp.npy")
                np.save(tmp, f)
                tmp.replace(p)
                rows[i] = f
        return np.stack([r for r in rows if r is not None]) if rows else np.zeros((0, 0), np.float32)


# ------------------------------------------------------------------------------------------------
# the classifier


class GalleryClassifier:
    """k-NN classifier over a labelled gallery (implements :class:`anatscore.classify.Classifier`).

    Args:
        features: (N, D) gallery features.
        labels: task -> N labels (``""`` = unknown for that image; it then does not vote).
        extractor: embeds query images (``None`` if only :meth:`predict_features` is used).
        k: neighbours that vote.
        temperature: softness of the similarity weights ``exp(s / T)``.
    """

    name = "gallery"

    def __init__(
        self,
        features: np.ndarray,
        labels: Mapping[str, Sequence[str]],
        extractor: Optional[FeatureExtractor],
        k: int = 5,
        temperature: float = 0.1,
        ids: Optional[Sequence[str]] = None,
    ) -> None:
        feats = np.asarray(features, dtype=np.float64)
        if feats.ndim != 2 or feats.shape[0] == 0:
            raise ValueError("gallery needs a non-empty (N, D) feature matrix")
        for task, labs in labels.items():
            if len(labs) != feats.shape[0]:
                raise ValueError(f"{task}: {len(labs)} labels for {feats.shape[0]} gallery images")
        self.raw = feats
        self.mu = feats.mean(axis=0)
        self.sd = feats.std(axis=0) + 1e-6
        self.gallery = self._norm(feats)
        self.label_map = {t: [str(x or "") for x in labs] for t, labs in labels.items()}
        self.extractor = extractor
        self.k = int(k)
        self.temperature = float(temperature)
        self.ids = list(ids) if ids is not None else [str(i) for i in range(feats.shape[0])]

    def _norm(self, f: np.ndarray) -> np.ndarray:
        z = (np.asarray(f, dtype=np.float64) - self.mu) / self.sd
        return z / (np.linalg.norm(z, axis=1, keepdims=True) + 1e-12)

    # -- protocol ----------------------------------------------------------------------------
    def labels(self, task: str) -> list[str]:
        """Labels the gallery knows for ``task`` (sorted); empty when the task is unlabelled."""
        return sorted({x for x in self.label_map.get(task, []) if x})

    def predict(self, images: Sequence[LoadedImage], task: str) -> list[dict[str, float]]:
        """Per image, label probabilities for ``task`` (see the module docstring)."""
        if self.extractor is None:
            raise RuntimeError("this gallery has no feature extractor; use predict_features")
        return self.predict_features(self.extractor.extract(images), task)

    # -- core ------------------------------------------------------------------------------------
    def predict_features(
        self, features: np.ndarray, task: str, exclude: Optional[Sequence[np.ndarray]] = None
    ) -> list[dict[str, float]]:
        """Like :meth:`predict` on precomputed query features.

        ``exclude[i]`` (optional) is a boolean mask of gallery rows query ``i`` may not use
        (leave-one-source-out evaluation without rebuilding the gallery).
        """
        if task not in TASKS and task not in self.label_map:
            raise KeyError(f"unknown task {task!r}; expected one of {TASKS}")
        labs = np.array(self.label_map.get(task, [""] * len(self.gallery)), dtype=object)
        known = labs != ""
        classes = self.labels(task)
        if not classes:
            return [{} for _ in range(len(features))]
        sims = self._norm(features) @ self.gallery.T
        out: list[dict[str, float]] = []
        for i, s in enumerate(sims):
            usable = known.copy()
            if exclude is not None:
                usable &= ~exclude[i]
            idx = np.flatnonzero(usable)
            if idx.size == 0:
                out.append({c: 1.0 / len(classes) for c in classes})
                continue
            top = idx[np.argsort(-s[idx])[: self.k]]
            wts = np.exp((s[top] - s[top].max()) / self.temperature)
            votes = {c: 0.0 for c in classes}
            for j, wt in zip(top, wts):
                votes[labs[j]] += float(wt)
            tot = sum(votes.values())
            out.append({c: v / tot for c, v in votes.items()})
        return out

    # -- construction and persistence -------------------------------------------------------------
    @classmethod
    def from_images(
        cls,
        images: Sequence[LoadedImage],
        labels: Mapping[str, Sequence[str]],
        extractor: FeatureExtractor,
        cache: Optional[FeatureCache] = None,
        **kwargs: Any,
    ) -> "GalleryClassifier":
        """Featurise labelled images (through ``cache`` when given) and build the gallery."""
        feats = cache.extract(extractor, images) if cache is not None else extractor.extract(images)
        return cls(feats, labels, extractor, ids=[im.meta.image_id for im in images], **kwargs)

    def save(self, path: Path) -> None:
        """Write features, labels and ids to ``path`` (``.npz``) so the gallery is featurised once."""
        arrays: dict[str, Any] = {"features": self.raw, "ids": np.array(self.ids, dtype=str)}
        for task, labs in self.label_map.items():
            arrays[f"label_{task}"] = np.array(labs, dtype=str)
        arrays["extractor"] = np.array(getattr(self.extractor, "name", ""))
        np.savez_compressed(Path(path), **arrays)

    @classmethod
    def load(cls, path: Path, extractor: Optional[FeatureExtractor] = None, **kwargs: Any) -> "GalleryClassifier":
        """Read a gallery written by :meth:`save`; ``extractor`` must be the one it was built with."""
        with np.load(Path(path), allow_pickle=False) as z:
            built_with = str(z["extractor"]) if "extractor" in z else ""
            if extractor is not None and built_with and built_with != extractor.name:
                raise ValueError(f"gallery {path} was built with {built_with!r}, not {extractor.name!r}")
            labels = {k[len("label_") :]: [str(x) for x in z[k]] for k in z.files if k.startswith("label_")}
            return cls(z["features"], labels, extractor, ids=[str(x) for x in z["ids"]], **kwargs)


def read_labelled_folder(root: Path) -> list[tuple[ImageMeta, dict[str, str]]]:
    """Labelled reference images from ``root``: a ``manifest.csv`` or a folder tree.

    With a ``manifest.csv`` (columns ``path`` and any of ``modality``, ``region``, ``view``,
    ``us_content``) its rows are used. Otherwise the tree ``<modality>/<region>/<view>/file`` is
    read: the first folder level is the modality, the second the region, the third the view
    (deeper levels and missing levels are ignored / left unknown). Labels are normalised through
    :func:`anatscore.vocab.normalise` where the vocabulary knows them, else kept in lower case.
    """
    from ..vocab import normalise

    root = Path(root)
    exts = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".dcm"}

    def norm(kind: str, v: str) -> str:
        try:
            return normalise(kind, v) if kind in ("modality", "region", "view") else v.strip().lower()
        except ValueError:
            return v.strip().lower().replace(" ", "_")

    out: list[tuple[ImageMeta, dict[str, str]]] = []
    manifest = root / "manifest.csv"
    if manifest.is_file():
        with open(manifest, newline="") as fh:
            for row in csv.DictReader(fh):
                rel = row["path"]
                labs = {t: norm(t, row.get(t) or "") for t in TASKS if row.get(t)}
                out.append((ImageMeta(image_id=rel, path=rel, abspath=str(root / rel)), labs))
        return out
    for p in sorted(root.rglob("*")):
        if p.suffix.lower() not in exts or not p.is_file():
            continue
        parts = p.relative_to(root).parts[:-1]
        labs = {t: norm(t, v) for t, v in zip(("modality", "region", "view"), parts)}
        rel = p.relative_to(root).as_posix()
        out.append((ImageMeta(image_id=rel, path=rel, abspath=str(p)), labs))
    return out


def build_gallery(
    root: Path,
    extractor: FeatureExtractor,
    cache: Optional[FeatureCache] = None,
    out: Optional[Path] = None,
    **kwargs: Any,
) -> GalleryClassifier:
    """Load and featurise a labelled folder (see :func:`read_labelled_folder`); save to ``out``.

    Files that do not decode are skipped with a logged warning naming them.
    """
    from ..io.loading import LoadError, load_image

    images: list[LoadedImage] = []
    labels: dict[str, list[str]] = {t: [] for t in TASKS}
    for meta, labs in read_labelled_folder(root):
        try:
            images.append(load_image(meta))
        except LoadError as exc:
            log.warning("gallery: skipping %s: %s", meta.path, exc)
            continue
        for t in TASKS:
            labels[t].append(labs.get(t, ""))
    if not images:
        raise ValueError(f"no decodable labelled images under {root}")
    labels = {t: v for t, v in labels.items() if any(v)}
    g = GalleryClassifier.from_images(images, labels, extractor, cache=cache or FeatureCache(), **kwargs)
    if out is not None:
        g.save(out)
    return g


def from_config(config: Any, device: str = "cpu") -> GalleryClassifier:
    """The run's gallery classifier from ``config.options["classify"]`` (backend ``gallery``).

    Options: ``gallery`` (required): a gallery ``.npz`` written by :meth:`GalleryClassifier.save`
    or a labelled folder / manifest (see :func:`read_labelled_folder`), featurised through the
    feature cache; ``extractor`` (default ``inception``; ``handcrafted`` needs no weights);
    ``k`` (default 5).
    """
    opt = dict(getattr(config, "options", {}).get("classify", {}))
    src = opt.get("gallery")
    if not src:
        raise ValueError("classify backend 'gallery' needs options['classify']['gallery'] (a folder or .npz)")
    name = str(opt.get("extractor", "inception"))
    kwargs: dict[str, Any] = {"device": device} if name == "inception" else {}
    ex = extractor_for(name, **kwargs)
    k = int(opt.get("k", 5))
    path = Path(src)
    if path.suffix == ".npz":
        return GalleryClassifier.load(path, ex, k=k)
    return build_gallery(path, ex, cache=FeatureCache(), k=k)


def top_label(probs: Mapping[str, float]) -> str:
    """The most probable label ("" for an empty mapping)."""
    return max(probs.items(), key=lambda kv: kv[1])[0] if probs else ""
