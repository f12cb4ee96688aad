"""The weights manager: records, verified import/download, atomic cache, verify, clear errors.

Everything runs offline: downloads use ``file://`` URLs; tiny records (a ``torch.nn.Linear``)
are added through ``$ANATSCORE_WEIGHT_RECORDS``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from anatscore import paths, weights  # noqa: E402
from anatscore.cli import main  # noqa: E402

FID_NOFC_SHA = "69573a8273f0440d8843d1d38f460887184a7f5fc8c30b9352aa984128989b30"


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _linear_file(path: Path, seed: int = 0, out: int = 2) -> Path:
    torch.manual_seed(seed)
    torch.save(torch.nn.Linear(4, out).state_dict(), path)
    return path


def _record(dirpath: Path, name: str, **variant: object) -> None:
    dirpath.mkdir(parents=True, exist_ok=True)
    rec = {
        "name": name, "summary": "tiny test network", "licence": "test",
        "architecture": "torch.nn:Linear", "architecture_kwargs": {"in_features": 4, "out_features": 2},
        "variants": [{"id": "v1", "file_name": "tiny.pt", "format": "state_dict", **variant}],
        "preprocessing": {"input_size": [4], "channels": 1, "intensity_range": [0, 1]},
    }
    (dirpath / f"{name}.json").write_text(json.dumps(rec))


@pytest.fixture()
def recdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "records"
    d.mkdir()
    monkeypatch.setenv(weights.RECORDS_ENV, str(d))
    return d


def _cache_files(name: str) -> list[str]:
    d = weights.record_dir(name)
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


# --------------------------------------------------------------------------- records


def test_shipped_records_are_complete() -> None:
    recs = weights.records()
    for name in ("inception-fid", "xrv-densenet121-res224-all", "xrv-pspnet", "xrv-resnet-ae", "xrv-view",
                 "xrv-cxas", "biomedclip", "clip-vit-b-32-laion2b"):
        assert name in recs, name
    for rec in recs.values():
        assert rec.summary and rec.licence and rec.variants, rec.name
        assert rec.architecture or rec.architecture_fallback, rec.name
        pre = rec.preprocessing
        assert {"input_size", "channels", "intensity_range"} <= set(pre), rec.name
        for v in rec.variants:
            for f in v.files:
                assert f.file_name and (f.sha256 == "unknown" or len(f.sha256) == 64), rec.name
                assert all(u.startswith("https://") for u in f.urls), rec.name
        assert rec.urls, f"{rec.name} has no download URL"
    fid = recs["inception-fid"]
    assert {v.main.sha256 for v in fid.variants} >= {FID_NOFC_SHA}
    assert any(v.main.sha256_prefix == "6726825d" for v in fid.variants)
    assert len(recs["xrv-densenet121-res224-all"].preprocessing["labels"]) == 18


def test_missing_weights_message_names_the_command() -> None:
    with pytest.raises(weights.WeightsMissingError) as err:
        weights.local_path("xrv-densenet121-res224-all")
    msg = str(err.value)
    assert "`anatscore weights download xrv-densenet121-res224-all`" in msg
    assert "`anatscore weights import xrv-densenet121-res224-all FILE`" in msg
    with pytest.raises(weights.WeightsMissingError, match="anatscore weights download inception-fid"):
        weights.load_state_dict("inception-fid")
    with pytest.raises(weights.WeightsError, match="no weights record named 'nope'"):
        weights.local_path("nope")


# --------------------------------------------------------------------------- import


def test_import_pinned_hash_and_mismatch_refused(tmp_path: Path, recdir: Path) -> None:
    good = _linear_file(tmp_path / "tiny.pt", seed=0)
    bad = _linear_file(tmp_path / "other.pt", seed=1)
    _record(recdir, "tiny", sha256=_sha(good))
    with pytest.raises(weights.WeightsHashError, match="matches none of the accepted files"):
        weights.import_file("tiny", bad)
    assert _cache_files("tiny") == []  # nothing left behind, not even a temp file
    info = weights.import_file("tiny", good)
    assert info["sha256"] == _sha(good) and info["source_hash_pinned"] and info["arch_check"] == "strict"
    assert _cache_files("tiny") == ["installed.json", "tiny.pt"]
    sd = weights.load_state_dict("tiny")
    torch.testing.assert_close(sd["weight"], torch.load(good, weights_only=True)["weight"])
    assert weights.sha256_of("tiny") == _sha(good)
    # a later bad import does not disturb the installed file
    with pytest.raises(weights.WeightsHashError):
        weights.import_file("tiny", bad)
    assert weights.local_path("tiny").read_bytes() == good.read_bytes()


def test_unpinned_hash_recorded_and_architecture_checked(tmp_path: Path, recdir: Path) -> None:
    _record(recdir, "tiny")
    wrong = tmp_path / "wrong.pt"
    torch.save(torch.nn.Linear(4, 3).state_dict(), wrong)
    with pytest.raises(weights.WeightsError, match=r"shape mismatches.*\(3, 4\)"):
        weights.import_file("tiny", wrong)
    extra = tmp_path / "extra.pt"
    sd = torch.nn.Linear(4, 2).state_dict()
    sd["stray"] = torch.zeros(1)
    torch.save(sd, extra)
    with pytest.raises(weights.WeightsError, match="the network does not have"):
        weights.import_file("tiny", extra)
    assert _cache_files("tiny") == []
    ok = _linear_file(tmp_path / "ok.pt")
    info = weights.import_file("tiny", ok)
    assert info["sha256"] == _sha(ok) and not info["source_hash_pinned"]


def test_pickled_module_needs_trust_and_is_converted(tmp_path: Path, recdir: Path) -> None:
    _record(recdir, "tiny", format="pickled_module")
    whole = tmp_path / "whole.pt"
    torch.save(torch.nn.Linear(4, 2), whole)  # a whole pickled module, as torchxrayvision ships
    with pytest.raises(weights.WeightsError, match="--trust-pickle"):
        weights.import_file("tiny", whole)
    assert _cache_files("tiny") == []
    info = weights.import_file("tiny", whole, trust_pickle=True)
    assert info["converted"] and info["payload"] == "tiny.state_dict.pt"
    assert info["source_sha256"] == _sha(whole) and info["sha256"] != info["source_sha256"]
    sd = torch.load(weights.local_path("tiny"), weights_only=True)  # plain state_dict now
    assert set(sd) == {"weight", "bias"}


def test_real_xrv_densenet_layout_converted(tmp_path: Path) -> None:
    """A whole pickled xrv DenseNet (how torchxrayvision releases its .pt files) imports into
    ``xrv-densenet121-res224-all`` as a weights_only-loadable state_dict."""
    from anatscore._weight_builders import xrv_densenet

    model = xrv_densenet()
    f = tmp_path / "nih-pc-chex-mimic_ch-google-openi-kaggle-densenet121-d121-tw-lr001-rot45-tr15-sc15-seed0-best.pt"
    torch.save(model, f)
    with pytest.raises(weights.WeightsError, match="pickled Python object"):
        weights.import_file("xrv-densenet121-res224-all", f)
    info = weights.import_file("xrv-densenet121-res224-all", f, trust_pickle=True)
    assert info["arch_check"].startswith("strict")
    sd = weights.load_state_dict("xrv-densenet121-res224-all")
    torch.testing.assert_close(sd["classifier.weight"], model.classifier.weight)


@pytest.mark.realdata
def test_import_real_inception_nofc(inception_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The acceptance command of issue 2, then the file loads into pytorch-fid's FID Inception."""
    assert main(["weights", "import", "inception-fid", str(inception_weights)]) == 0
    info = weights.installed("inception-fid")
    assert info["variant"] == "nofc" and info["sha256"] == FID_NOFC_SHA and not info["converted"]
    assert "fc.weight, fc.bias are untrained placeholders" in info["arch_check"]
    sd = weights.load_state_dict("inception-fid")
    # pytorch-fid's own FID network, built offline (its download is replaced by our state_dict)
    import pytorch_fid.inception as pfi

    monkeypatch.setattr(pfi, "load_state_dict_from_url", lambda *a, **k: sd)
    net = pfi.fid_inception_v3()  # loads strictly inside pytorch-fid
    ref = net.state_dict()
    assert set(ref) == set(sd) and all(ref[k].shape == sd[k].shape for k in sd)
    # the fc layer is a placeholder: every weight within the default init bound 1/sqrt(2048)
    assert float(sd["fc.weight"].abs().max()) <= 2048 ** -0.5 + 1e-6
    assert [r.status for r in weights.verify(["inception-fid"])] == ["ok"]


@pytest.mark.realdata
def test_inception_prefix_pin_refuses_other_files(inception_weights: Path, tmp_path: Path) -> None:
    """A file named like pytorch-fid's release but with other bytes fails the 6726825d prefix."""
    sd = torch.load(inception_weights, weights_only=True)
    del sd["fc.weight"], sd["fc.bias"]
    f = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    torch.save(sd, f)
    with pytest.raises(weights.WeightsHashError, match="6726825d"):
        weights.import_file("inception-fid", f)
    assert _cache_files("inception-fid") == []


def test_strict_over_the_layers_it_has(tmp_path: Path, recdir: Path) -> None:
    """A variant may declare untrained keys (the Inception fc): a file without them loads
    strictly over every other tensor; any other missing tensor is still refused."""
    _record(recdir, "tiny", untrained_keys=["bias"])
    sd = torch.nn.Linear(4, 2).state_dict()
    no_bias = tmp_path / "nobias.pt"
    torch.save({"weight": sd["weight"]}, no_bias)
    info = weights.import_file("tiny", no_bias)
    assert info["arch_check"] == "strict; over the layers it has (absent: bias)"
    _record(recdir, "tiny2")
    with pytest.raises(weights.WeightsError, match="missing from the file"):
        weights.import_file("tiny2", no_bias)


# --------------------------------------------------------------------------- download


def test_download_file_url_atomic(tmp_path: Path, recdir: Path) -> None:
    src = _linear_file(tmp_path / "tiny.pt")
    _record(recdir, "tiny", sha256=_sha(src), urls=[src.as_uri()])
    info = weights.download("tiny")
    assert info["source"] == src.as_uri() and info["sha256"] == _sha(src)
    assert weights.local_path("tiny") == paths.weights_dir() / "tiny" / "tiny.pt"
    assert _cache_files("tiny") == ["installed.json", "tiny.pt"]


def test_download_hash_mismatch_leaves_nothing(tmp_path: Path, recdir: Path) -> None:
    src = _linear_file(tmp_path / "tiny.pt", seed=0)
    _record(recdir, "tiny", sha256="0" * 64, urls=[src.as_uri()])
    with pytest.raises(weights.WeightsHashError):
        weights.download("tiny")
    assert _cache_files("tiny") == []
    with pytest.raises(weights.WeightsMissingError):
        weights.local_path("tiny")


def test_download_offline_says_import(recdir: Path) -> None:
    _record(recdir, "tiny", urls=["http://127.0.0.1:9/tiny.pt"])
    with pytest.raises(weights.WeightsMissingError) as err:
        weights.download("tiny")
    msg = str(err.value)
    assert "looks offline" in msg and "`anatscore weights import tiny FILE`" in msg
    assert "Traceback" not in msg and _cache_files("tiny") == []


# --------------------------------------------------------------------------- verify and CLI


def test_verify_detects_corruption(tmp_path: Path, recdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _linear_file(tmp_path / "tiny.pt")
    _record(recdir, "tiny", sha256=_sha(src))
    assert main(["weights", "import", "tiny", str(src), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sha256"] == _sha(src)
    assert main(["weights", "verify", "tiny", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["status"] == "ok"
    cached = weights.local_path("tiny")
    data = bytearray(cached.read_bytes())
    data[-10] ^= 0xFF
    cached.write_bytes(bytes(data))
    assert main(["weights", "verify", "tiny", "--json"]) == 1
    res = json.loads(capsys.readouterr().out)[0]
    assert res["status"] == "corrupt" and "differs from the installed" in res["detail"]


def test_cli_errors_are_one_line(tmp_path: Path, recdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _linear_file(tmp_path / "tiny.pt")
    _record(recdir, "tiny", sha256="1" * 64)
    assert main(["weights", "import", "tiny", str(src)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("anatscore weights: tiny: sha256") and "Traceback" not in err
    assert main(["weights", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["tiny"]["installed"] is False and "inception-fid" in rows


def test_folder_record_biomedclip_layout(tmp_path: Path) -> None:
    """Folder records (open_clip config + weights, loaded as ``local-dir:``): imported as a
    folder; offline without the hub config the check falls back to the tensor names."""
    src = tmp_path / "snapshot"
    src.mkdir()
    (src / "open_clip_config.json").write_text(json.dumps({"model_cfg": {}, "preprocess_cfg": {}}))
    torch.save({"visual.trunk.w": torch.zeros(2), "text.transformer.w": torch.zeros(2)},
               src / "open_clip_pytorch_model.bin")
    with pytest.raises(weights.WeightsError, match="folder record"):
        weights.import_file("biomedclip", src / "open_clip_pytorch_model.bin")
    info = weights.import_file("biomedclip", src)
    assert info["arch_check"].startswith("keys only (2 tensors with visual., text.)")
    folder = weights.local_path("biomedclip")
    assert folder.is_dir() and sorted(p.name for p in folder.iterdir()) == \
        ["open_clip_config.json", "open_clip_pytorch_model.bin"]
    assert set(weights.load_state_dict("biomedclip")) == {"visual.trunk.w", "text.transformer.w"}
    assert [r.status for r in weights.verify(["biomedclip"])] == ["ok"]
    torch.save({"unrelated": torch.zeros(1)}, src / "open_clip_pytorch_model.bin")
    with pytest.raises(weights.WeightsError):
        weights.import_file("biomedclip", src)
    assert weights.local_path("biomedclip") == folder  # the good install survives


@pytest.mark.slow
def test_openai_clip_conversion_round_trip() -> None:
    """OpenAI-format CLIP tensors -> open_clip ViT-B-32-quickgelu state_dict (the converter the
    ``clip-vit-b-32-openai`` record applies after ``torch.jit.load``)."""
    from anatscore._weight_builders import open_clip_model, openai_clip_state_dict_from_module

    ref = open_clip_model("ViT-B-32-quickgelu").state_dict()
    openai_style = dict(ref)
    openai_style.update(input_resolution=torch.tensor(224), context_length=torch.tensor(77),
                        vocab_size=torch.tensor(49408))
    out = openai_clip_state_dict_from_module(openai_style)
    assert set(out) == set(ref)
    assert out["visual.conv1.weight"].dtype == torch.float32
    # OpenAI's tensors are fp16: the round trip through open_clip's converter rounds to fp16
    torch.testing.assert_close(out["visual.conv1.weight"], ref["visual.conv1.weight"], atol=1e-3, rtol=1e-3)


def test_pickled_download_trusted_only_from_record_url(tmp_path: Path, recdir: Path) -> None:
    whole = tmp_path / "whole.pt"
    torch.save(torch.nn.Linear(4, 2), whole)
    mirror = tmp_path / "mirror.pt"
    mirror.write_bytes(whole.read_bytes())
    _record(recdir, "tiny", format="pickled_module", urls=[whole.as_uri()])
    with pytest.raises(weights.WeightsError, match="--trust-pickle"):
        weights.download("tiny", url=mirror.as_uri())  # a mirror is not the record's source
    assert _cache_files("tiny") == []
    info = weights.download("tiny")  # the record's own URL: unpickled once, converted
    assert info["converted"] and set(weights.load_state_dict("tiny")) == {"weight", "bias"}
