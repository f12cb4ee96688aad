"""torchxrayvision chest checks: geometric rules on ground truth, finding logic, batched plumbing.

Rules are checked on the JSRT/SCR ground-truth masks (real anatomy, no network) and on phantoms;
the network plumbing runs random-weight networks of the real architectures, never the network.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from anatscore.backbones import xrv as bx
from anatscore.checks import CheckContext
from anatscore.checks import xrv_anatomy as xa
from anatscore.checks import xrv_pathology as xp
from anatscore.config import EvalConfig
from anatscore.types import ImageMeta, LoadedImage
from anatscore.weights import WeightsMissingError

SCR = ("heart", "left_lung", "right_lung", "left_clavicle", "right_clavicle")


def _image(grey: np.ndarray, prompt: str = "", task: str = "", view: str = "", i: int = 0) -> LoadedImage:
    meta = ImageMeta(image_id=f"im{i}", path=f"im{i}.png", modality="xray", region="chest", prompt=prompt,
                     task=task, view=view)
    return LoadedImage(meta=meta, grey=grey)


@pytest.fixture(scope="module")
def jsrt_structures(shared_data: Path) -> list[tuple[dict, dict, dict]]:
    """(original, mirrored with labels by position, dextrocardia) summaries for all 127 JSRT films."""
    from PIL import Image

    root = shared_data / "real" / "xray" / "chest" / "jsrt_scr" / "masks"
    if not (root / "heart").is_dir():
        pytest.skip(f"{root} is absent (JSRT/SCR ground-truth masks)")
    out = []
    for f in sorted((root / "heart").glob("*.png")):
        m = {k: np.asarray(Image.open(root / k / f.name).resize((256, 256), Image.NEAREST)) > 0 for k in SCR}
        orig = xa.summarise_masks(m)
        # a mirrored film segmented by a model that labels sides by image position
        swap = {"left_lung": "right_lung", "right_lung": "left_lung", "left_clavicle": "right_clavicle",
                "right_clavicle": "left_clavicle", "heart": "heart"}
        mirrored = xa.summarise_masks({swap[k]: v[:, ::-1] for k, v in m.items()})
        # dextrocardia: the heart reflected about the lung midline, lungs in place
        mid = int(round(0.5 * (orig["left_lung"].cx + orig["right_lung"].cx)))
        heart = np.zeros_like(m["heart"])
        ys, xs = np.nonzero(m["heart"])
        xs2 = np.clip(2 * mid - xs, 0, 255)
        heart[ys, xs2] = True
        dextro = xa.summarise_masks({**m, "heart": heart})
        out.append((orig, mirrored, dextro))
    return out


# ---------------------------------------------------------------------------------- rules on real GT


@pytest.mark.realdata
def test_rules_on_jsrt_ground_truth(jsrt_structures: list) -> None:
    """All 127 real films: lungs, clavicle pair, levocardia and CTR pass; mirrored/dextro fail."""
    n = len(jsrt_structures)
    assert n == 127
    orig = [o for o, _, _ in jsrt_structures]
    assert sum(xa.rule_lungs(s).passed for s in orig) == n
    assert sum(xa.rule_pair(s, "clavicle", "xrv.clavicles").passed for s in orig) == n
    assert sum(xa.rule_heart_laterality(s).passed for s in orig) == n
    ctrs = np.array([xa.ctr(s) for s in orig])
    assert 0.33 < ctrs.min() and ctrs.max() < 0.65  # measured 0.348 .. 0.622 at 256 px
    assert sum(xa.rule_ctr(s).passed for s in orig) == n
    assert sum(xa.rule_heart_laterality(m).passed for _, m, _ in jsrt_structures) == 0
    assert sum(xa.rule_heart_laterality(d).passed for _, _, d in jsrt_structures) == 0
    # clavicles on the wrong sides when only the clavicle labels are swapped
    o = dict(orig[0])
    o["left_clavicle"], o["right_clavicle"] = o["right_clavicle"], o["left_clavicle"]
    r = xa.rule_pair(o, "clavicle", "xrv.clavicles")
    assert r.passed is False and "wrong sides" in r.reason


# ---------------------------------------------------------------------------------- rules on phantoms


def _rect(y0: int, y1: int, x0: int, x1: int, n: int = 128) -> np.ndarray:
    m = np.zeros((n, n), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_ctr_and_offset_known_answers() -> None:
    s = xa.summarise_masks({"right_lung": _rect(20, 100, 10, 50), "left_lung": _rect(20, 100, 70, 110),
                            "heart": _rect(60, 100, 50, 90)})
    assert xa.ctr(s) == pytest.approx(40 / 100)
    assert xa.heart_offset(s) == pytest.approx((69.5 - 59.5) / 100)
    assert xa.rule_ctr(s, 0.45, 0.7).passed is False


def test_pair_split_and_missing() -> None:
    two = _rect(10, 14, 70, 80) | _rect(10, 14, 90, 100)
    s = xa.summarise_masks({"left_clavicle": two, "right_clavicle": _rect(10, 14, 20, 40)})
    r = xa.rule_pair(s, "clavicle", "xrv.clavicles")
    assert r.passed is False and "2 pieces" in r.reason
    r = xa.rule_pair(xa.summarise_masks({"left_scapula": _rect(10, 30, 90, 110)}), "scapula", "xrv.scapulae")
    assert r.passed is False and r.value == 1.0 and "right scapula not found" in r.reason


def _ribs(left: range, right: range, split: tuple[str, ...] = ()) -> dict:
    masks = {}
    for side, rng, x0 in (("left", left, 70), ("right", right, 10)):
        for i in rng:
            key = f"rib_post_{i}_{side}"
            m = _rect(8 * i, 8 * i + 4, x0, x0 + 40)
            if key in split:
                m[:, x0 + 18:x0 + 22] = False
            masks[key] = m
    return xa.summarise_masks(masks)


def test_rib_rule_counts_asymmetry_and_splits() -> None:
    r = xa.rule_ribs(_ribs(range(1, 11), range(1, 11)))
    assert r.passed is True and r.extra["left"] == 10 and r.extra["right"] == 10 and r.value == 20
    r = xa.rule_ribs(_ribs(range(1, 12), range(1, 8)))
    assert r.passed is False and "fewer than 8" in r.reason and "differ by 4" in r.reason
    r = xa.rule_ribs(_ribs(range(1, 11), range(1, 11), split=("rib_post_5_left",)))
    assert r.passed is False and "5th left" in r.reason


def test_vertebra_rule_gaps_and_order() -> None:
    def spine(names: list[str], ys: list[int]) -> dict:
        return xa.summarise_masks({v: _rect(y, y + 3, 60, 68) for v, y in zip(names, ys)})

    ok = xa.rule_vertebrae(spine(["T1", "T2", "T3", "T4"], [10, 20, 30, 40]))
    assert ok.passed is True and ok.value == 4 and ok.extra["first"] == "T1"
    gap = xa.rule_vertebrae(spine(["T1", "T2", "T4"], [10, 20, 40]))
    assert gap.passed is False and gap.extra["gaps"] == ["T3"]
    swapped = xa.rule_vertebrae(spine(["T1", "T2", "T3"], [10, 30, 20]))
    assert swapped.passed is False and "ordered" in swapped.reason


def test_cxas_keys() -> None:
    keys = {xa.cxas_key(lab) for lab in bx.cxas_labels()}
    assert set(xa.VERTEBRAE) <= keys
    assert {f"rib_post_{i}_{s}" for i in range(1, 13) for s in ("left", "right")} <= keys
    assert xa.cxas_key("anterior 3rd rib left") == "rib_ante_3_left"


# ---------------------------------------------------------------------------------- findings


@pytest.mark.parametrize("prompt,req,normal,neg", [
    ("An x-ray of the chest with a large left pleural effusion", ["Effusion"], False, []),
    ("PA chest radiograph showing a lung tumour and rib fractures", ["Fracture", "Mass"], False, []),
    ("normal chest x-ray without pneumothorax", [], True, ["Pneumothorax"]),
    ("a chest x-ray", [], False, []),
    ("chest film, cardiomegaly and pulmonary oedema", ["Cardiomegaly", "Edema"], False, []),
])
def test_requested_findings(prompt: str, req: list, normal: bool, neg: list) -> None:
    assert xp.requested_findings(prompt) == (req, normal, neg)


def test_judge_pathology_with_injected_logits() -> None:
    labels = bx.densenet_labels()
    t = bx.op_thresholds()
    p = np.full(18, 0.001)
    eff = labels.index("Effusion")
    p[eff] = 0.9
    logits = np.log(p / (1 - p))[None]
    score, present = bx.pathology_scores(logits, t)
    r = xp.judge_pathology("chest x-ray with pleural effusion", labels, score[0], present[0])
    assert r.passed is True and r.value > 0.5 and r.extra["present"] == ["Effusion"]
    r = xp.judge_pathology("chest x-ray with pneumothorax", labels, score[0], present[0])
    assert r.passed is False and "Pneumothorax" in r.reason and r.value < 0.5
    r = xp.judge_pathology("a normal chest radiograph", labels, score[0], present[0])
    assert r.passed is False and "Effusion" in r.reason
    r = xp.judge_pathology("a chest radiograph", labels, score[0], present[0])
    assert r.passed is None and "Effusion" in r.reason
    r = xp.judge_pathology("a chest radiograph", labels, score[0], present[0], task="pathology")
    assert r.passed is None and "names no finding" in r.reason
    # a finding exactly at its threshold counts as present
    p2 = np.full(18, 0.001)
    p2[eff] = t[eff]
    s2, pr2 = bx.pathology_scores(np.log(p2 / (1 - p2))[None], t)
    assert pr2[0, eff] and s2[0, eff] == pytest.approx(0.5, abs=1e-5)


def test_judge_view_and_ood() -> None:
    r = xp.judge_view("pa", np.array([0.8, 0.2]))
    assert r.passed is True and r.value == pytest.approx(0.8)
    r = xp.judge_view("lateral", np.array([0.8, 0.2]))
    assert r.passed is False and "predicted frontal" in r.reason
    assert xp.judge_view("", np.array([0.3, 0.7])).passed is None
    assert xp.judge_ood(0.02, None).passed is None
    assert xp.judge_ood(0.02, 0.05).passed is True and xp.judge_ood(0.08, 0.05).passed is False


# ---------------------------------------------------------------------------------- batched plumbing


def _ctx(**models: object) -> CheckContext:
    ctx = CheckContext(config=EvalConfig(device="cpu", batch_size=2))
    ctx.models.update(models)
    return ctx


def test_missing_weights_raise_actionable_error() -> None:
    img = _image(np.zeros((64, 64), np.float32), prompt="chest x-ray with effusion")
    with pytest.raises(WeightsMissingError, match="xrv-densenet121-res224-all"):
        xp.pathology(img, _ctx())
    with pytest.raises(WeightsMissingError, match="xrv-pspnet"):
        xa.lungs(img, _ctx())


def test_pathology_batched_equals_unbatched() -> None:
    import torch

    torch.manual_seed(0)
    model = bx.build_densenet()
    rng = np.random.default_rng(0)
    greys = [rng.random((96, 80), dtype=np.float32) for _ in range(3)]
    prompts = ["chest x-ray with pleural effusion", "normal chest x-ray", "chest x-ray"]
    batched = xp.pathology_batch([_image(g, p, i=i) for i, (g, p) in enumerate(zip(greys, prompts))],
                                 _ctx(**{"xrv-densenet121-res224-all": model}))
    single = [xp.pathology(_image(g, p, i=i), _ctx(**{"xrv-densenet121-res224-all": model}))
              for i, (g, p) in enumerate(zip(greys, prompts))]
    for a, b in zip(batched, single):
        assert a.passed == b.passed and a.reason == b.reason
        assert a.value == pytest.approx(b.value, abs=1e-4)
        assert list(a.extra["scores"]) == list(bx.densenet_labels())


def test_segmenter_plumbing_batched_equals_unbatched(monkeypatch: pytest.MonkeyPatch) -> None:
    """PSPNet and CXAS run once per image, memoise summaries, and agree batched vs. one by one."""
    import torch

    monkeypatch.setattr(bx, "SEGMENTER_SIZE", 64)  # the plumbing, not the resolution, is under test
    torch.manual_seed(0)
    psp, cxas = bx.build_pspnet(), bx.build_cxas()
    rng = np.random.default_rng(0)
    greys = [rng.random((70, 90), dtype=np.float32) for _ in range(3)]
    models = {"xrv-pspnet": psp, "xrv-cxas": cxas}
    imgs = [_image(g, i=i) for i, g in enumerate(greys)]
    ctx = _ctx(**models)
    b_lungs = xa.lungs_batch(imgs, ctx)
    b_ribs = xa.ribs_batch(imgs, ctx)
    assert all("xrv.pspnet" in im.cache and "xrv.cxas" in im.cache for im in imgs)
    one = [_image(g, i=i) for i, g in enumerate(greys)]
    for k, im in enumerate(one):
        assert xa.lungs(im, _ctx(**models)).reason == b_lungs[k].reason
        assert xa.ribs(im, _ctx(**models)).reason == b_ribs[k].reason
        assert im.cache["xrv.pspnet"].keys() == imgs[k].cache["xrv.pspnet"].keys()


def test_registered_checks_resolve() -> None:
    from anatscore.registry import MODEL_CHECKS, resolve

    names = {s.name for s in MODEL_CHECKS}
    assert {"xrv.ribs", "xrv.vertebrae", "xrv.ctr", "xrv.heart_laterality", "xrv.pathology"} <= names
    for s in MODEL_CHECKS:
        if s.name.startswith("xrv."):
            assert callable(resolve(s.target)) and callable(resolve(s.batch_target))
            assert s.weights() and s.regions == ("chest",)


def test_loaded_weights_are_recorded_for_run_json(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import hashlib

    import torch

    from anatscore import weights

    ref = bx.build_densenet()
    f = tmp_path / "dn.pt"
    torch.save(ref.state_dict(), f)
    monkeypatch.setattr(weights, "local_path", lambda name: f)
    monkeypatch.setattr(weights, "load_state_dict", lambda name: torch.load(f, weights_only=True))
    ctx = _ctx()
    r = xp.pathology(_image(np.zeros((64, 64), np.float32), "chest x-ray with effusion"), ctx)
    assert r.check == "xrv.pathology" and r.extra["requested"] == ["Effusion"]
    assert ctx.weights_used == {"xrv-densenet121-res224-all": hashlib.sha256(f.read_bytes()).hexdigest()}
    # the manager's recorded hash (verified on install) is preferred when it has one
    monkeypatch.setattr(weights, "sha256_of", lambda name: "cafe" * 16)
    ctx = _ctx()
    xp.pathology(_image(np.zeros((64, 64), np.float32)), ctx)
    assert ctx.weights_used == {"xrv-densenet121-res224-all": "cafe" * 16}


def test_frontal_rules_skip_lateral_views_without_running_the_segmenter() -> None:
    lat = _image(np.zeros((64, 64), np.float32), view="lateral")
    for fn in (xa.lungs, xa.heart_laterality, xa.ctr_check, xa.clavicles, xa.ribs, xa.vertebrae):
        r = fn(lat, _ctx())  # no models and no weights: it must not try to load one
        assert r.passed is None and "lateral" in r.reason
    assert "xrv.pspnet" not in lat.cache


def test_normal_reference_rate_and_percentile() -> None:
    labels = bx.densenet_labels()
    k = labels.index("Effusion")
    ref_score = np.zeros((4, 18))
    ref_score[:, k] = [0.2, 0.4, 0.6, 0.8]
    ref = xp.NormalReference(ref_score, ref_score >= 0.5)
    assert ref.rate(k) == 0.5 and ref.percentile(k, 0.5) == 50.0 and ref.percentile(k, 0.6) == 62.5
    score = np.full(18, 0.1)
    present = np.zeros(18, bool)
    score[k], present[k] = 0.55, True
    r = xp.judge_pathology("chest x-ray with pleural effusion", labels, score, present, reference=ref)
    assert r.passed is True and r.extra["reference_rate"] == {"Effusion": 0.5}
    assert r.extra["reference_percentile"] == {"Effusion": 50.0} and "below the median" not in r.reason
    score[k] = 0.35  # present at its threshold, yet below 3 of the 4 normal films
    r = xp.judge_pathology("chest x-ray with pleural effusion", labels, score, present, reference=ref)
    assert r.passed is True and "below the median of 4 normal films" in r.reason


@pytest.mark.realdata
def test_normal_reference_folder_scored_once(shared_data: Path) -> None:
    import torch

    torch.manual_seed(0)
    model = bx.build_densenet()
    folder = shared_data / "real" / "xray" / "chest" / "torchxrayvision_tests"
    cfg = EvalConfig(device="cpu", batch_size=4, options={"xrv.pathology": {"normal_reference": str(folder)}})
    ctx = CheckContext(config=cfg)
    ctx.models["xrv-densenet121-res224-all"] = model
    imgs = [_image(np.full((64, 64), v, np.float32), "chest x-ray with effusion", i=i) for i, v in enumerate((0.2, 0.7))]
    res = xp.pathology_batch(imgs, ctx)
    ref = [v for k, v in ctx.models.items() if k.startswith("xrv.pathology.normal_reference")]
    assert len(ref) == 1 and ref[0].score.shape == (7, 18)  # the 7 films of the folder
    assert all("reference_percentile" in r.extra for r in res)
    xp.pathology_batch(imgs, ctx)
    assert len([k for k in ctx.models if k.startswith("xrv.pathology.normal_reference")]) == 1
