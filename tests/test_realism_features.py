"""Feature extractors: input conventions, architectures, weights layouts, real-weight agreement."""

from __future__ import annotations

import glob
from pathlib import Path

import numpy as np
import pytest

from anatscore.features import build_extractor, quantise, rgb_uint8
from anatscore.features.inception import SIZE, build_fid_inception, load_fid_inception, preprocess
from anatscore.features.radiomic import RadiomicExtractor, feature_names, radiomic_features
from anatscore.types import ImageMeta, LoadedImage


def _img(grey: np.ndarray, colour: np.ndarray | None = None, image_id: str = "x") -> LoadedImage:
    return LoadedImage(ImageMeta(image_id=image_id, path=image_id), np.asarray(grey, np.float32), colour)


# --- conventions shared by RGB networks ----------------------------------------------------------


def test_quantise_and_grey_replication() -> None:
    g = np.array([[0.0, 0.5, 1.0, 1.5], [-0.2, 1 / 255, 0.5 / 255, np.nan]], np.float32)
    q = quantise(g)
    assert q.tolist() == [[0, 128, 255, 255], [0, 1, 0, 0]]  # rint(127.5) = 128, rint(0.5) = 0 (half to even)
    rgb = rgb_uint8(_img(g))
    assert rgb.shape == (2, 4, 3) and rgb.dtype == np.uint8
    assert np.array_equal(rgb[..., 0], q) and np.array_equal(rgb[..., 1], q) and np.array_equal(rgb[..., 2], q)


def test_colour_with_chroma_is_kept_grey_colour_is_not() -> None:
    grey = np.full((4, 4), 0.5, np.float32)
    tinted = np.zeros((4, 4, 3), np.uint8)
    tinted[..., 0] = 200
    assert np.array_equal(rgb_uint8(_img(grey, tinted)), tinted)
    flat = np.full((4, 4, 3), 77, np.uint8)  # an RGB file holding grey: the grey path is used
    assert np.all(rgb_uint8(_img(grey, flat)) == 128)


# --- Inception preprocessing ---------------------------------------------------------------------


def test_pytorch_fid_resize_is_bilinear_interpolate_of_uint8() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    g = rng.random((123, 171)).astype(np.float32)
    got = preprocess([_img(g)], "pytorch-fid")
    q = torch.from_numpy(quantise(g)).float().div(255)[None, None].repeat(1, 3, 1, 1)
    want = torch.nn.functional.interpolate(q, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    assert got.shape == (1, 3, SIZE, SIZE)
    assert torch.equal(got, want)


def test_clean_resize_antialiases_pytorch_fid_aliases() -> None:
    """A 1-pixel checkerboard downsized 1024 -> 299 must become flat grey; bilinear without
    antialiasing keeps a strong pattern (the clean-fid finding that moves FID by points)."""
    yy, xx = np.mgrid[:1024, :1024]
    board = ((yy + xx) % 2).astype(np.float32)
    clean = preprocess([_img(board)], "clean").numpy()
    legacy = preprocess([_img(board)], "pytorch-fid").numpy()
    assert abs(clean.mean() - 0.5) < 0.01 and clean.std() < 0.02
    assert legacy.std() > 0.15  # measured 0.167: aliasing keeps a third of the full swing
    const = preprocess([_img(np.full((50, 80), 0.4, np.float32))], "clean").numpy()
    assert np.allclose(const, 102 / 255, atol=1e-6)  # rint(0.4 * 255) = 102, resize keeps constants


def test_fid_inception_architecture_random_weights_batch_independent() -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = build_fid_inception()
    x = torch.rand(3, 3, 139, 139) * 2 - 1  # the smallest convenient input keeps this fast
    with torch.inference_mode():
        full = model(x)
        single = torch.cat([model(x[i : i + 1]) for i in range(3)])
    assert full.shape == (3, 2048)
    assert torch.allclose(full, single, rtol=1e-5, atol=1e-5)


# --- real FID Inception weights -------------------------------------------------------------------


@pytest.mark.realdata
def test_inception_loads_both_key_layouts_and_rejects_others(inception_weights: Path, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    state = torch.load(inception_weights, map_location="cpu", weights_only=True)
    # the workplace file: num_batches_tracked + (placeholder) fc
    assert "fc.weight" in state and any(k.endswith("num_batches_tracked") for k in state)
    load_fid_inception(inception_weights)
    # the official pytorch-fid layout has no num_batches_tracked; a features-only file has no fc
    slim = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked") and not k.startswith("fc.")}
    torch.save(slim, tmp_path / "slim.pth")
    m = load_fid_inception(tmp_path / "slim.pth")
    x = torch.rand(1, 3, SIZE, SIZE) * 2 - 1
    with torch.inference_mode():
        assert torch.allclose(m(x), load_fid_inception(inception_weights)(x), atol=1e-6)
    bad = dict(slim)
    bad["extra.weight"] = torch.zeros(1)
    torch.save(bad, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="unexpected"):
        load_fid_inception(tmp_path / "bad.pth")
    missing = {k: v for k, v in slim.items() if not k.startswith("Mixed_7c.branch_pool")}
    torch.save(missing, tmp_path / "missing.pth")
    with pytest.raises(ValueError, match="missing"):
        load_fid_inception(tmp_path / "missing.pth")


@pytest.mark.realdata
@pytest.mark.slow
def test_inception_features_equal_pytorch_fid(inception_weights: Path, shared_data: Path) -> None:
    """Same weights, same files: our pytorch-fid mode reproduces pytorch-fid's features."""
    torch = pytest.importorskip("torch")
    pfi = pytest.importorskip("pytorch_fid.inception")
    from PIL import Image

    from anatscore.features.inception import InceptionExtractor

    files = sorted(glob.glob(str(shared_data / "real/xray/knee_kl/0/*.png")))[:2]
    files += sorted(glob.glob(str(shared_data / "real/us/fetal_head_hc18/*_HC.png")))[:1]
    state = torch.load(inception_weights, map_location="cpu", weights_only=True)
    monkey = pytest.MonkeyPatch()
    monkey.setattr(pfi, "load_state_dict_from_url", lambda *a, **k: state)
    try:
        ref_model = pfi.InceptionV3([3]).eval()
    finally:
        monkey.undo()
    imgs = []
    for f in files:
        with Image.open(f) as im:
            imgs.append(_img(np.asarray(im.convert("F"), np.float32) / 255.0, np.asarray(im.convert("RGB")), f))
    ours = InceptionExtractor(weights=inception_weights, resize="pytorch-fid", batch_size=2).extract(imgs)
    with torch.inference_mode():
        theirs = torch.cat(
            [
                ref_model(torch.from_numpy(np.array(Image.open(f).convert("RGB"))).permute(2, 0, 1)[None].float() / 255)[0]
                .flatten(1)
                for f in files
            ]
        ).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


# --- radiomic -----------------------------------------------------------------------------------


def test_radiomic_names_and_known_answers() -> None:
    ex = RadiomicExtractor()
    assert ex.dim == len(feature_names()) == len(set(feature_names()))
    names = feature_names()
    const = radiomic_features(np.full((64, 64), 0.25))
    assert np.all(np.isfinite(const))
    assert const[names.index("hist.mean")] == pytest.approx(0.25, abs=1e-9)
    assert const[names.index("hist.std")] == pytest.approx(0.0, abs=1e-9)
    yy, xx = np.mgrid[:256, :256]
    stripes = 0.5 + 0.4 * np.sin(xx / 3.0)
    noise = np.random.default_rng(0).random((256, 256))
    f_stripes, f_noise = radiomic_features(stripes), radiomic_features(noise)
    # oriented texture is coherent; white noise is not
    assert f_stripes[names.index("grad.coherence")] > 0.9 > 0.5 > f_noise[names.index("grad.coherence")]
    # white noise has far more fine-scale (level-1 diagonal) wavelet energy than smooth stripes
    assert f_noise[names.index("wav.log_d1")] > f_stripes[names.index("wav.log_d1")] + 2
    assert f_noise[names.index("glcm.contrast.d1")] > 10 * f_stripes[names.index("glcm.contrast.d1")]


def test_registry_builds_radiomic_and_identity_changes_with_preprocessing() -> None:
    a = build_extractor("radiomic")
    b = build_extractor("radiomic", size=128)
    assert a.fingerprint() != b.fingerprint()
    assert a.fingerprint() == build_extractor("radiomic").fingerprint()
    with pytest.raises(KeyError, match="registered"):
        build_extractor("nope")


# --- xrv and clip with random weights of the real architectures --------------------------------


def test_xrv_extractor_random_densenet() -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("torchxrayvision")
    from anatscore.backbones import xrv as bx
    from anatscore.features.xrv import XRVExtractor

    torch.manual_seed(0)
    ex = XRVExtractor(model=bx.build_densenet(), batch_size=2)
    g = np.random.default_rng(0).random((300, 240)).astype(np.float32)
    feats = ex.extract([_img(g), _img(g[::-1].copy()), _img(g.T.copy())])
    assert feats.shape == (3, 1024) and np.all(np.isfinite(feats))
    np.testing.assert_allclose(ex.extract([_img(g)])[0], feats[0], rtol=1e-4, atol=1e-5)
    assert ex.preprocessing()["variant"] == bx.DENSENET_VARIANT


def test_xrv_and_clip_without_weights_fail_with_the_install_command() -> None:
    from anatscore.weights import WeightsMissingError

    with pytest.raises(WeightsMissingError, match="anatscore weights"):
        build_extractor("xrv")


def test_clip_extractor_random_open_clip() -> None:
    torch = pytest.importorskip("torch")
    open_clip = pytest.importorskip("open_clip")
    from anatscore.features.clip import CLIPExtractor

    torch.manual_seed(0)
    # the real open_clip CLIP class, tiny config (a ViT-B-32 at random weights costs 15 s here)
    model = open_clip.CLIP(
        embed_dim=64,
        vision_cfg=open_clip.CLIPVisionCfg(layers=2, width=64, head_width=32, patch_size=16, image_size=64),
        text_cfg=open_clip.CLIPTextCfg(context_length=16, vocab_size=100, width=32, heads=2, layers=1),
    )
    transform = open_clip.image_transform(64, is_train=False)
    ex = CLIPExtractor(model=model, transform=transform, model_name="tiny-test", batch_size=2)
    g = np.random.default_rng(1).random((200, 260)).astype(np.float32)
    feats = ex.extract([_img(g), _img(1 - g), _img(g[::-1].copy())])
    assert feats.shape == (3, 64) and ex.dim == 64
    np.testing.assert_allclose(np.linalg.norm(feats, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(ex.extract([_img(g)])[0], feats[0], atol=1e-5)  # batch-size independent
