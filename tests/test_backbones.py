"""Backbones: torchxrayvision networks and preprocessing, open_clip loading and embeddings.

Random-weight networks of the real architectures; nothing touches the network.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from anatscore.backbones import clip as aclip
from anatscore.backbones import xrv as axrv
from anatscore.io.loading import load_image
from anatscore.types import ImageMeta, LoadedImage
from anatscore.weights import WeightsMissingError

# 8-bit greyscale radiographs, square and non-square, so centre crop and resize are exercised.
REAL_XRAYS = (
    "real/xray/chest/torchxrayvision_tests/00000001_000.png",
    "real/xray/chest/jsrt_scr/images/JPCNN006.png",
    "real/xray/pydicom_data/RG1_J2KR_display.png",
    "real/xray/msk_mura_examples/HAND.png",
    "real/xray/msk_mura_examples/HUMERUS.png",
)


@pytest.fixture(autouse=True)
def _no_download(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any torchxrayvision download attempt fails the test."""
    lib = axrv.xrv()

    def _refuse(*a: object, **k: object) -> None:
        raise AssertionError("a test tried to download weights")

    monkeypatch.setattr(lib.utils, "download", _refuse)


def _loaded(path: Path) -> LoadedImage:
    meta = ImageMeta(image_id=path.name, path=path.name, abspath=str(path))
    return load_image(meta)


# ---------------------------------------------------------------------------------- preprocessing


def test_to_xrv_range_matches_library_normalize() -> None:
    v = np.arange(256, dtype=np.uint8).reshape(16, 16)
    ours = axrv.to_xrv_range(v.astype(np.float32) / 255.0)
    ref = axrv.xrv().datasets.normalize(v, 255)
    np.testing.assert_allclose(ours, ref, atol=1e-3)
    assert ours.min() == -1024.0 and ours.max() == 1024.0


@pytest.mark.realdata
@pytest.mark.parametrize("rel", REAL_XRAYS)
@pytest.mark.parametrize("size", [224, 512])
def test_preprocess_matches_library_pipeline_on_real_images(shared_data: Path, rel: str, size: int) -> None:
    """anatscore decode -> preprocess equals xrv.utils.load_image -> XRayCenterCrop -> XRayResizer."""
    lib = axrv.xrv()
    path = shared_data / rel
    ours = axrv.preprocess(_loaded(path).grey, size).numpy()
    ref = lib.utils.load_image(str(path))
    ref = lib.datasets.XRayCenterCrop()(ref)
    ref = lib.datasets.XRayResizer(size)(ref)
    assert ours.shape == ref.shape == (1, size, size)
    np.testing.assert_allclose(ours, ref, atol=0.05)  # float32 rounding only, on a 2048 range
    assert -1024.0 <= ours.min() and ours.max() <= 1024.0


def test_preprocess_crops_the_long_side_centrally() -> None:
    grey = np.zeros((30, 50), np.float32)
    grey[:, 10:40] = 1.0  # the central 30 columns are white: exactly the crop
    out = axrv.preprocess(grey, 30).numpy()
    assert out.shape == (1, 30, 30)
    assert np.all(out == 1024.0)


def test_preprocess_rejects_non_images() -> None:
    with pytest.raises(ValueError):
        axrv.preprocess(np.zeros(10, np.float32))


def test_preprocess_batch_shape() -> None:
    rng = np.random.default_rng(0)
    b = axrv.preprocess_batch([rng.random((40, 60), dtype=np.float32), rng.random((64, 64), dtype=np.float32)], 32)
    assert tuple(b.shape) == (2, 1, 32, 32)


def test_imagenet_rgb_matches_torchvision_normalize() -> None:
    import torchvision

    x = torch.linspace(-1024, 1024, 2 * 8 * 8).reshape(2, 1, 8, 8)
    ref = torchvision.transforms.Normalize(axrv._IMAGENET_MEAN, axrv._IMAGENET_STD)(
        ((x + 1024) / 2048).repeat(1, 3, 1, 1))
    torch.testing.assert_close(axrv._imagenet_rgb(x), ref)


# ---------------------------------------------------------------------------------- DenseNet


def test_densenet_labels_and_thresholds_align() -> None:
    labels = axrv.densenet_labels()
    assert labels == tuple(axrv.xrv().datasets.default_pathologies)
    assert len(labels) == 18 and labels[7] == "Effusion" and labels[15] == "Fracture"
    t = axrv.op_thresholds()
    assert t.shape == (18,) and np.all(np.isfinite(t)) and np.all((t > 0) & (t < 1))


def test_densenet_shapes_and_batch_invariance() -> None:
    torch.manual_seed(0)
    model = axrv.build_densenet()
    rng = np.random.default_rng(1)
    batch = axrv.preprocess_batch([rng.random((224, 224), dtype=np.float32) for _ in range(3)])
    feats = axrv.densenet_features(model, batch)
    logits = axrv.densenet_logits(model, batch)
    assert feats.shape == (3, 1024) and logits.shape == (3, 18)
    one = axrv.densenet_logits(model, batch[1:2])
    np.testing.assert_allclose(one[0], logits[1], rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="224x224"):
        axrv.densenet_logits(model, torch.zeros(1, 1, 100, 100))


def test_pathology_scores_threshold_logic_with_injected_logits() -> None:
    t = np.array([0.1, 0.5, np.nan])
    p = np.array([[0.05, 0.6, 0.9], [0.1, 0.4, 0.1]])
    logits = np.log(p / (1 - p))
    score, present = axrv.pathology_scores(logits, t)
    assert present.tolist() == [[False, True, False], [True, False, False]]
    # op_norm: below threshold p / (2t); at/above 1 - (1 - p) / (2 (1 - t))
    np.testing.assert_allclose(score[0, :2], [0.05 / 0.2, 1 - 0.4 / 1.0], atol=1e-6)
    np.testing.assert_allclose(score[1, 0], 0.5, atol=1e-6)
    assert np.isnan(score[:, 2]).all()


def test_load_densenet_goes_through_weights_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    from anatscore import weights

    with pytest.raises(WeightsMissingError, match="xrv-densenet121-res224-all"):
        axrv.load_densenet()
    torch.manual_seed(3)
    ref = axrv.build_densenet()
    asked: list[str] = []

    def fake(name: str) -> dict:
        asked.append(name)
        return ref.state_dict()

    monkeypatch.setattr(weights, "load_state_dict", fake)
    model = axrv.load_densenet()
    assert asked == ["xrv-densenet121-res224-all"] and not model.training
    x = torch.zeros(1, 1, 224, 224)
    np.testing.assert_allclose(axrv.densenet_logits(model, x), axrv.densenet_logits(ref, x), atol=1e-5)


# ---------------------------------------------------------------------------------- segmenters, AE, view


def test_pspnet_bare_network_builds_offline_with_14_channels() -> None:
    labels = axrv.pspnet_labels()
    assert len(labels) == 14 and labels[0] == "Left Clavicle" and labels[8] == "Heart"
    net = axrv.build_pspnet()
    out = axrv.pspnet_logits(net, torch.zeros(2, 1, 64, 64))
    assert tuple(out.shape) == (2, 14, 64, 64)


def test_pspnet_loader_strips_dataparallel_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    from anatscore import weights

    ref = axrv.build_pspnet()
    monkeypatch.setattr(weights, "load_state_dict",
                        lambda name: {"module." + k: v for k, v in ref.state_dict().items()})
    net = axrv.load_pspnet()
    x = torch.zeros(1, 1, 64, 64)
    torch.testing.assert_close(axrv.pspnet_logits(net, x), axrv.pspnet_logits(ref, x))


def test_cxas_builds_offline_with_159_structures() -> None:
    labels = axrv.cxas_labels()
    assert len(labels) == 159
    assert sum(1 for s in labels if s.startswith("vertebrae ")) == 24
    assert sum(1 for s in labels if s.endswith(" rib left") or s.endswith(" rib right")) == 46
    net = axrv.build_cxas()
    out = axrv.cxas_logits(net, torch.zeros(1, 1, 64, 64))
    assert tuple(out.shape) == (1, 159, 64, 64)


def test_autoencoder_reconstruction_error_shape_and_range() -> None:
    torch.manual_seed(0)
    ae = axrv.build_autoencoder()
    batch = axrv.preprocess_batch([np.full((224, 224), 0.5, np.float32), np.zeros((224, 224), np.float32)])
    err = axrv.reconstruction_error(ae, batch)
    assert err.shape == (2,) and np.all(err >= 0) and np.all(np.isfinite(err))
    np.testing.assert_allclose(axrv.reconstruction_error(ae, batch[1:]), err[1:], rtol=1e-4)


def test_view_model_probabilities() -> None:
    torch.manual_seed(0)
    net = axrv.build_view_model()
    p = axrv.view_probabilities(net, torch.zeros(2, 1, 224, 224))
    assert p.shape == (2, 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)


def test_builders_are_resolvable() -> None:
    from anatscore.registry import resolve

    for target in axrv.BUILDERS.values():
        assert callable(resolve(target))


# ---------------------------------------------------------------------------------- open_clip

TINY = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="module")
def tiny_clip_name(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny open_clip architecture registered from a config file (fast random-weight tests)."""
    import open_clip

    d = tmp_path_factory.mktemp("clipcfg")
    (d / "anatscore-tiny.json").write_text(json.dumps(TINY))
    open_clip.add_model_config(d / "anatscore-tiny.json")
    return "anatscore-tiny"


def test_clip_default_needs_weights_with_actionable_message() -> None:
    with pytest.raises(WeightsMissingError, match="biomedclip"):
        aclip.load()
    with pytest.raises(ValueError, match="pretrained"):
        aclip.load("ViT-B-32", "")


def test_clip_embeddings_normalised_and_batch_invariant(tiny_clip_name: str) -> None:
    torch.manual_seed(0)
    model, preprocess, tok = aclip.load(tiny_clip_name, aclip.RANDOM)
    rng = np.random.default_rng(0)
    imgs = [rng.random((40, 50), dtype=np.float32), (rng.random((20, 20, 3)) * 255).astype(np.uint8)]
    e = aclip.embed_images(model, preprocess, imgs, batch_size=1)
    e2 = aclip.embed_images(model, preprocess, imgs, batch_size=2)
    assert e.shape == (2, 32)
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(e, e2, atol=1e-5)
    t = aclip.embed_texts(model, tok, ["a chest radiograph", "an ultrasound image"])
    assert t.shape == (2, 32)
    np.testing.assert_allclose(np.linalg.norm(t, axis=1), 1.0, atol=1e-5)


def test_clip_loads_local_checkpoint_file(tiny_clip_name: str, tmp_path: Path) -> None:
    torch.manual_seed(1)
    ref = aclip.load(tiny_clip_name, aclip.RANDOM)
    ckpt = tmp_path / "tiny.pt"
    torch.save(ref.model.state_dict(), ckpt)
    torch.manual_seed(2)
    got = aclip.load(tiny_clip_name, str(ckpt))
    t_ref = aclip.embed_texts(ref.model, ref.tokenizer, ["a knee radiograph"])
    t_got = aclip.embed_texts(got.model, got.tokenizer, ["a knee radiograph"])
    np.testing.assert_allclose(t_ref, t_got, atol=1e-6)


def test_clip_record_folder_loads_as_local_dir(tiny_clip_name: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A weights record that is a folder (config + weights) is loaded through open_clip's local-dir."""
    from anatscore import weights

    torch.manual_seed(4)
    ref = aclip.load(tiny_clip_name, aclip.RANDOM)
    d = tmp_path / "rec"
    d.mkdir()
    (d / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY, "preprocess_cfg": {}}))
    torch.save(ref.model.state_dict(), d / "open_clip_pytorch_model.bin")
    monkeypatch.setattr(weights, "local_path", lambda name: d)
    got = aclip.load(tiny_clip_name, "", record="tiny-record")
    x = [np.full((32, 32), 0.3, np.float32)]
    np.testing.assert_allclose(aclip.embed_images(got.model, got.preprocess, x),
                               aclip.embed_images(ref.model, ref.preprocess, x), atol=1e-5)


def test_clip_real_architecture_random_weights() -> None:
    """The ViT-B-32 architecture builds offline with random weights and embeds to 512-d."""
    model, preprocess, tok = aclip.load("ViT-B-32", aclip.RANDOM)
    e = aclip.embed_images(model, preprocess, [np.zeros((64, 64), np.float32)])
    assert e.shape == (1, 512)
    assert aclip.logit_scale(model) == pytest.approx(1 / 0.07, rel=1e-3)


def test_inputs_preprocess_once_per_image_and_size() -> None:
    rng = np.random.default_rng(5)
    ims = [LoadedImage(meta=ImageMeta(image_id=str(i), path=f"{i}.png"), grey=rng.random((50, 70), dtype=np.float32))
           for i in range(2)]
    a = axrv.inputs(ims, 32)
    assert tuple(a.shape) == (2, 1, 32, 32)
    torch.testing.assert_close(a[1], axrv.preprocess(ims[1].grey, 32))
    cached = ims[0].cache["xrv.input32"]
    axrv.inputs(ims, 32)
    assert ims[0].cache["xrv.input32"] is cached
    assert tuple(axrv.inputs(ims[:1], 16).shape) == (1, 1, 16, 16) and "xrv.input16" in ims[0].cache
