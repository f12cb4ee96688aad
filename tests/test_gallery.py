"""Reference-gallery k-NN classifier: known answers on synthetic clusters, caching, real accuracy."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from anatscore.classify.gallery import (
    FeatureCache,
    GalleryClassifier,
    HandcraftedFeatures,
    build_gallery,
    read_labelled_folder,
    top_label,
)
from anatscore.types import ImageMeta, LoadedImage


def _clusters(seed: int = 0, n: int = 30, d: int = 12) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    centres = {"ct": np.zeros(d), "us": np.full(d, 3.0), "xray": np.r_[np.full(d // 2, 3.0), np.zeros(d - d // 2)]}
    feats, labs = [], []
    for lab, c in centres.items():
        feats.append(c + rng.normal(0, 0.7, (n, d)))
        labs += [lab] * n
    return np.concatenate(feats), labs


def test_synthetic_clusters_known_answer() -> None:
    gal_f, gal_l = _clusters(0)
    q_f, q_l = _clusters(1, n=20)
    g = GalleryClassifier(gal_f, {"modality": gal_l}, extractor=None, k=5)
    probs = g.predict_features(q_f, "modality")
    assert all(abs(sum(p.values()) - 1) < 1e-9 for p in probs)
    assert set(probs[0]) == {"ct", "us", "xray"} == set(g.labels("modality"))
    acc = np.mean([top_label(p) == t for p, t in zip(probs, q_l)])
    assert acc >= 0.95


def test_exclude_mask_and_unlabelled_rows() -> None:
    gal_f, gal_l = _clusters(0)
    g = GalleryClassifier(gal_f, {"modality": gal_l, "region": [""] * len(gal_l)}, extractor=None, k=3)
    q = gal_f[:1]  # a 'ct' point
    assert top_label(g.predict_features(q, "modality")[0]) == "ct"
    no_ct = np.array([lab == "ct" for lab in gal_l])
    p = g.predict_features(q, "modality", exclude=[no_ct])[0]
    assert p["ct"] == 0.0 and top_label(p) in {"us", "xray"}
    assert g.predict_features(q, "region") == [{}]  # no labels for this task: no prediction
    with pytest.raises(KeyError):
        g.predict_features(q, "colour")


def test_bad_gallery_rejected() -> None:
    with pytest.raises(ValueError):
        GalleryClassifier(np.zeros((0, 3)), {}, None)
    with pytest.raises(ValueError):
        GalleryClassifier(np.zeros((3, 2)), {"modality": ["ct"]}, None)


class _Counting:
    """A feature extractor that records how many images it was asked to embed."""

    name = "counting"

    def __init__(self) -> None:
        self.calls = 0

    def extract(self, images: list[LoadedImage]) -> np.ndarray:
        self.calls += len(images)
        return np.stack([[im.grey.mean(), im.grey.std()] for im in images]).astype(np.float32)


def _img(seed: int, kind: str) -> LoadedImage:
    """'disc' = bright disc on black (CT-like), 'fan' = speckled sector (ultrasound-like)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:128, 0:128] / 128.0
    if kind == "disc":
        g = np.where((xx - 0.5) ** 2 + (yy - 0.5) ** 2 < rng.uniform(0.08, 0.15), 0.5, 0.0)
        g = g + 0.02 * rng.standard_normal(g.shape)
    else:
        ang = np.abs(np.arctan2(xx - 0.5, yy + 0.05))
        g = np.where((ang < rng.uniform(0.6, 0.8)) & (yy < 0.9), rng.rayleigh(0.25, (128, 128)), 0.0)
    g = np.clip(g, 0, 1).astype(np.float32)
    return LoadedImage(ImageMeta(image_id=f"{kind}{seed}", path=f"{kind}{seed}.png"), g)


def test_feature_cache_featurises_once(tmp_path: Path) -> None:
    ims = [_img(i, "disc") for i in range(4)]
    ex = _Counting()
    cache = FeatureCache(tmp_path)
    a = cache.extract(ex, ims)
    b = cache.extract(ex, ims + [_img(9, "fan")])
    assert ex.calls == 5  # 4 first, then only the new one
    np.testing.assert_allclose(a, b[:4])


def test_save_load_roundtrip(tmp_path: Path) -> None:
    ims = [_img(i, k) for i in range(6) for k in ("disc", "fan")]
    labels = {"modality": ["ct" if "disc" in im.meta.image_id else "us" for im in ims]}
    ex = HandcraftedFeatures()
    g = GalleryClassifier.from_images(ims, labels, ex, cache=FeatureCache(tmp_path / "c"))
    g.save(tmp_path / "g.npz")
    g2 = GalleryClassifier.load(tmp_path / "g.npz", ex)
    q = [_img(100, "disc"), _img(101, "fan")]
    assert [top_label(p) for p in g2.predict(q, "modality")] == ["ct", "us"]
    assert g2.predict(q, "modality") == g.predict(q, "modality")
    with pytest.raises(ValueError):
        GalleryClassifier.load(tmp_path / "g.npz", _Counting())


def test_handcrafted_features_finite_and_shaped() -> None:
    ims = [_img(0, "disc"), _img(1, "fan")]
    rgb = (np.repeat(ims[0].grey[..., None], 3, axis=2) * 255).astype(np.uint8)
    ims.append(LoadedImage(ImageMeta(image_id="c", path="c"), ims[0].grey, rgb))
    f = HandcraftedFeatures().extract(ims)
    assert f.shape[0] == 3 and f.shape[1] > 150 and np.isfinite(f).all()


def test_folder_tree_gallery(tmp_path: Path) -> None:
    from PIL import Image

    for i in range(5):
        for kind, mod, region in (("disc", "CT", "head"), ("fan", "ultrasound", "abdomen")):
            d = tmp_path / "ref" / mod / region
            d.mkdir(parents=True, exist_ok=True)
            Image.fromarray((_img(i, kind).grey * 255).astype(np.uint8)).save(d / f"{i}.png")
    rows = read_labelled_folder(tmp_path / "ref")
    assert len(rows) == 10
    assert {r[1]["modality"] for r in rows} == {"ct", "us"}  # normalised through the vocabulary
    g = build_gallery(tmp_path / "ref", HandcraftedFeatures(), cache=FeatureCache(tmp_path / "c"), out=tmp_path / "g.npz")
    assert (tmp_path / "g.npz").is_file()
    assert g.labels("region") == ["abdomen", "head"]
    assert top_label(g.predict([_img(50, "fan")], "modality")[0]) == "us"


@pytest.mark.realdata
@pytest.mark.slow
def test_real_gallery_leave_one_source_out(shared_data: Path) -> None:
    """Handcrafted features, leave-one-source-out, on a subset of the real images.

    The benchmark's full figure (all 506 images) is quoted in the README; here a deterministic
    subset keeps the test short and the asserted floor sits below the measured value.
    """
    from benchmarks.layout_data import load_case, real_cases

    cases = [c for i, c in enumerate(real_cases(shared_data)) if c.modality != "xray" or i % 3 == 0]
    cases = [c for i, c in enumerate(cases) if c.modality != "us" or i % 3 == 0 or "dicom" in c.path]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ims = [load_case(shared_data, c.path) for c in cases]
    feats = HandcraftedFeatures().extract(ims)
    g = GalleryClassifier(feats, {"modality": [c.modality for c in cases]}, None, k=5)
    groups = np.array([c.group for c in cases])
    pred = [top_label(p) for p in g.predict_features(feats, "modality", exclude=[groups == x for x in groups])]
    acc = float(np.mean([p == c.modality for p, c in zip(pred, cases)]))
    print(f"handcrafted LOSO subset accuracy {acc:.3f} on {len(cases)} images")
    assert acc >= MEASURED_FLOOR, acc


#: asserted floor for the subset above: measured 0.696 on its 184 images (all 506 in the
#: benchmark: 0.709); the weight-free features transfer poorly across sources (see the README)
MEASURED_FLOOR = 0.6


@pytest.mark.realdata
@pytest.mark.slow
def test_real_gallery_inception(shared_data: Path, inception_weights: Path) -> None:
    """FID Inception features, leave-one-source-out, on a small subset (2 images per source)."""
    from anatscore.features.inception import InceptionExtractor
    from benchmarks.layout_data import load_case, real_cases

    seen: dict[str, int] = {}
    cases = []
    for c in real_cases(shared_data):
        key = c.group.split("/")[2] if c.group.count("/") >= 2 else c.group
        if seen.get(key, 0) < 2 or c.modality in ("ct", "mri"):
            seen[key] = seen.get(key, 0) + 1
            cases.append(c)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ims = [load_case(shared_data, c.path) for c in cases]
    feats = InceptionExtractor(weights=inception_weights).extract(ims)
    assert feats.shape == (len(cases), 2048) and np.isfinite(feats).all()
    g = GalleryClassifier(feats, {"modality": [c.modality for c in cases]}, None, k=3)
    groups = np.array([c.group for c in cases])
    pred = [top_label(p) for p in g.predict_features(feats, "modality", exclude=[groups == x for x in groups])]
    acc = float(np.mean([p == c.modality for p, c in zip(pred, cases)]))
    print(f"inception LOSO subset accuracy {acc:.3f} on {len(cases)} images")
    assert acc >= INCEPTION_FLOOR, acc


#: measured on the subset above: 0.781 (25/32; its gallery has only 2 images per source, and the
#: figure moved from 0.812 when the DICOM loader changed); all 506 in the benchmark (registered
#: extractor): 0.966
INCEPTION_FLOOR = 0.7


def test_from_config_folder_and_npz(tmp_path: Path) -> None:
    """The factory the classifier checks call (``options['classify']['gallery']``)."""
    from PIL import Image

    from anatscore.classify.gallery import from_config
    from anatscore.config import EvalConfig

    for i in range(4):
        for kind, mod in (("disc", "ct"), ("fan", "us")):
            d = tmp_path / "ref" / mod
            d.mkdir(parents=True, exist_ok=True)
            Image.fromarray((_img(i, kind).grey * 255).astype(np.uint8)).save(d / f"{i}.png")
    cfg = EvalConfig(options={"classify": {"gallery": str(tmp_path / "ref"), "extractor": "handcrafted", "k": 3}})
    g = from_config(cfg, "cpu")
    assert g.labels("modality") == ["ct", "us"] and g.labels("region") == []
    assert top_label(g.predict([_img(77, "disc")], "modality")[0]) == "ct"
    g.save(tmp_path / "g.npz")
    cfg2 = EvalConfig(options={"classify": {"gallery": str(tmp_path / "g.npz"), "extractor": "handcrafted"}})
    assert top_label(from_config(cfg2, "cpu").predict([_img(78, "fan")], "modality")[0]) == "us"
    with pytest.raises(ValueError):
        from_config(EvalConfig(options={"classify": {}}), "cpu")
