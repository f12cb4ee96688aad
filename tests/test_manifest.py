"""Discovery and manifests: normalised fields, per-row errors, path containment, refusals,
sidecars and PNG text chunks."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from anatscore.io import LoadError, ManifestError, discover, load_image
from anatscore.io.manifest import parse_sd_parameters


def _png(path: Path, seed: int = 0, size: int = 16, pnginfo: PngImagePlugin.PngInfo | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size, size), dtype=np.uint8)).save(path, pnginfo=pnginfo)
    return path


def _by_id(metas: list) -> dict:
    return {m.image_id: m for m in metas}


def _csv(root: Path, text: str) -> None:
    (root / "manifest.csv").write_text(text)


def test_csv_manifest_normalised_and_hashed(tmp_path: Path) -> None:
    _png(tmp_path / "a.png", 1)
    _png(tmp_path / "sub/b.png", 2)
    _csv(tmp_path, "path,prompt,modality,region,view,task,backend,seed,note\n"
                   "a.png,a chest film,CXR,Thorax,PA,txt2img,dalle2,42,first\n"
                   "./sub/b.png,hand,X-ray,finger,frontal,,sd15,,\n")
    metas = _by_id(discover(tmp_path))
    assert sorted(metas) == ["a.png", "sub/b.png"]
    a = metas["a.png"]
    assert (a.prompt, a.modality, a.region, a.view, a.task, a.backend, a.seed) == \
        ("a chest film", "xray", "chest", "pa", "text2img", "dalle2", "42")
    assert a.extra["manifest_extra"] == {"note": "first"} and a.inferred == {}
    assert a.sha256 == hashlib.sha256((tmp_path / "a.png").read_bytes()).hexdigest()
    assert a.size_bytes == (tmp_path / "a.png").stat().st_size
    b = metas["sub/b.png"]
    assert (b.modality, b.region, b.view) == ("xray", "finger", "ap")
    assert b.abspath == str((tmp_path / "sub/b.png").resolve())


def test_jsonl_manifest(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    rows = [{"path": "a.png", "modality": "MR", "region": "knee", "seed": 7, "refused": False},
            {"path": "", "prompt": "skull fracture", "refused": True}]
    (tmp_path / "manifest.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    metas = _by_id(discover(tmp_path))
    assert metas["a.png"].modality == "mri" and metas["a.png"].seed == "7"
    refused = metas["refused#line=2"]
    assert refused.refused and refused.prompt == "skull fracture" and "load_error" not in refused.extra


def test_unknown_vocabulary_is_a_row_error_not_a_crash(tmp_path: Path) -> None:
    _png(tmp_path / "a.png", 1)
    _png(tmp_path / "b.png", 2)
    _csv(tmp_path, "path,modality,region,refused\n./a.png,xray,toe,\nb.png,xray,knee,maybe\n")
    metas = _by_id(discover(tmp_path))
    assert sorted(metas) == ["a.png", "b.png"]  # the bad row's file is not scored a second time
    err = metas["a.png"].extra["load_error"]
    assert err.startswith("manifest line 2: unknown region 'toe'; expected one of: head, chest")
    assert "refused: expected true/false, got 'maybe'" in metas["b.png"].extra["load_error"]
    with pytest.raises(LoadError, match="unknown region 'toe'"):
        load_image(metas["a.png"])


def test_missing_listed_file_is_a_record(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    _csv(tmp_path, "path\na.png\ngone.png\n")
    metas = _by_id(discover(tmp_path))
    assert metas["gone.png"].extra["load_error"] == \
        "manifest line 3: file 'gone.png' listed in the manifest is missing"
    assert "load_error" not in metas["a.png"].extra


def test_traversal_absolute_and_symlink_escapes_rejected(tmp_path: Path) -> None:
    root = tmp_path / "run"
    outside = _png(tmp_path / "secret.png", 9)
    _png(root / "a.png")
    (root / "link.png").symlink_to(outside)
    _csv(root, f"path\na.png\n../secret.png\n{outside}\nlink.png\nsub/../a.png\n")
    metas = discover(root)
    errs = {m.image_id: m.extra.get("load_error", "") for m in metas}
    assert "outside the input folder" in errs["../secret.png"]
    assert "outside the input folder" in errs[str(outside)]
    assert "a symlink pointing outside the input folder" in errs["link.png"]
    assert errs["a.png"] == ""  # sub/../a.png stays inside: the same file, listed once
    assert all(m.abspath != str(outside) for m in metas)


def test_symlink_out_of_folder_without_manifest(tmp_path: Path) -> None:
    root = tmp_path / "run"
    _png(root / "a.png")
    (root / "evil.png").symlink_to(_png(tmp_path / "secret.png"))
    metas = _by_id(discover(root))
    assert "outside the input folder" in metas["evil.png"].extra["load_error"]
    assert metas["evil.png"].sha256 == ""


def test_originals_and_masks_are_not_scored(tmp_path: Path) -> None:
    _png(tmp_path / "gen/x.png", 1)
    _png(tmp_path / "src/x.png", 2)
    Image.fromarray((np.arange(256).reshape(16, 16) > 100).astype(np.uint8) * 255).save(tmp_path / "m.png")
    _png(tmp_path / "other.png", 3)
    _csv(tmp_path, "path,task,original,mask\ngen/x.png,inpaint,src/x.png,m.png\n")
    metas = _by_id(discover(tmp_path))
    assert sorted(metas) == ["gen/x.png", "other.png"]
    gen = metas["gen/x.png"]
    assert (gen.original, gen.mask) == ("src/x.png", "m.png")
    im = load_image(gen)
    assert im.original.shape == (16, 16) and im.mask.sum() == 155


def test_bad_mask_path_is_a_row_error(tmp_path: Path) -> None:
    _png(tmp_path / "x.png")
    _csv(tmp_path, "path,task,original,mask\nx.png,inpaint,../o.png,nomask.png\n")
    err = _by_id(discover(tmp_path))["x.png"].extra["load_error"]
    assert "original: path '../o.png' is a path outside the input folder" in err
    assert "mask file 'nomask.png' listed in the manifest is missing" in err


def test_refused_rows_kept_not_failed(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    _csv(tmp_path, "path,prompt,refused,backend\na.png,ok,,dalle2\n"
                   "r1.png,brain haemorrhage CT,true,dalle2\n,fracture,yes,dalle2\n")
    metas = _by_id(discover(tmp_path))
    assert metas["r1.png"].refused and "load_error" not in metas["r1.png"].extra
    assert metas["refused#line=4"].refused and metas["refused#line=4"].prompt == "fracture"
    assert not metas["a.png"].refused


def test_manifest_without_path_column(tmp_path: Path) -> None:
    _png(tmp_path / "a.png")
    _csv(tmp_path, "file,prompt\na.png,x\n")
    with pytest.raises(ManifestError, match="required column 'path' is missing"):
        discover(tmp_path)


def test_unlisted_files_scored_with_own_metadata(tmp_path: Path) -> None:
    _png(tmp_path / "listed.png")
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "xray of a left hand, PA view\nNegative prompt: blurry, text\n"
                                "Steps: 30, Sampler: DPM++ 2M, CFG scale: 7, Seed: 123456, Size: 512x512, "
                                "Model: roentgen_v1")
    _png(tmp_path / "sd.png", 1, pnginfo=info)
    info2 = PngImagePlugin.PngInfo()
    info2.add_itxt("prompt", json.dumps({"prompt": "knee radiograph", "modality": "xray", "region": "knee"}))
    _png(tmp_path / "js.png", 2, pnginfo=info2)
    info3 = PngImagePlugin.PngInfo()
    info3.add_text("prompt", json.dumps({"3": {"class_type": "KSampler", "inputs": {}},
                                         "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "pelvis x-ray"}}}))
    _png(tmp_path / "comfy.png", 3, pnginfo=info3)
    _png(tmp_path / "side.png", 4)
    (tmp_path / "side.png.json").write_text(json.dumps({"modality": "CT", "region": "abdomen", "prompt": "kub"}))
    _png(tmp_path / "side2.png", 5)
    (tmp_path / "side2.json").write_text(json.dumps({"region": "Hip"}))
    _png(tmp_path / "plain.png", 6)
    (tmp_path / "notes.txt").write_text("not an image")
    _csv(tmp_path, "path,region\nlisted.png,chest\n")
    metas = _by_id(discover(tmp_path))
    assert sorted(metas) == ["comfy.png", "js.png", "listed.png", "plain.png", "sd.png", "side.png", "side2.png"]
    sd = metas["sd.png"]
    assert (sd.prompt, sd.seed, sd.backend) == ("xray of a left hand, PA view", "123456", "sd-webui:roentgen_v1")
    assert sd.inferred["prompt"] == "png-text:parameters"
    assert (metas["js.png"].region, metas["js.png"].prompt) == ("knee", "knee radiograph")
    assert metas["comfy.png"].prompt == "pelvis x-ray" and metas["comfy.png"].backend == "comfyui"
    side = metas["side.png"]
    assert (side.modality, side.region, side.prompt) == ("ct", "abdomen", "kub")
    assert side.inferred == {"modality": "sidecar", "region": "sidecar", "prompt": "sidecar"}
    assert metas["side2.png"].region == "pelvis"
    plain = metas["plain.png"]
    assert (plain.modality, plain.region, plain.prompt, plain.inferred) == ("", "", "", {})
    assert metas["listed.png"].region == "chest" and metas["listed.png"].inferred == {}


def test_sd_parameters_without_negative_or_settings() -> None:
    assert parse_sd_parameters("just a prompt") == {"prompt": "just a prompt", "backend": "sd-webui"}
    got = parse_sd_parameters("line one\nline two\nSteps: 20, Seed: 9")
    assert got == {"prompt": "line one\nline two", "seed": "9", "backend": "sd-webui"}


def test_extensionless_dicom_and_hidden_files(tmp_path: Path) -> None:
    from test_io_formats import _dicom

    _dicom(tmp_path / "IM0001", np.arange(64, dtype=np.uint16).reshape(8, 8))
    _png(tmp_path / ".hidden.png")
    _png(tmp_path / ".cache/x.png")
    (tmp_path / "README").write_text("hello")
    metas = discover(tmp_path)
    assert [m.image_id for m in metas] == ["IM0001"]
    assert load_image(metas[0]).meta.format == "dicom"


def test_single_file_root(tmp_path: Path) -> None:
    f = _png(tmp_path / "one.png")
    metas = discover(f)
    assert len(metas) == 1 and metas[0].image_id == "one.png" and metas[0].abspath == str(f.resolve())


@pytest.mark.realdata
def test_real_folder_discovers_and_loads(shared_data: Path) -> None:
    root = shared_data / "real/xray/msk_mura_examples"
    metas = discover(root)
    assert len(metas) >= 7 and all(len(m.sha256) == 64 for m in metas)
    ok = [load_image(m) for m in metas]
    assert all(im.grey.shape[0] > 100 for im in ok)
    assert os.path.commonpath([m.abspath for m in metas]) == str(root.resolve())


def test_manifest_given_in_memory_or_elsewhere(tmp_path: Path) -> None:
    import pandas as pd

    _png(tmp_path / "imgs/a.png", 1)
    _png(tmp_path / "imgs/b.png", 2)
    df = pd.DataFrame({"path": ["a.png", "b.png"], "region": ["Hip", None], "seed": [1.0, float("nan")]})
    metas = _by_id(discover(tmp_path / "imgs", manifest=df))
    assert (metas["a.png"].region, metas["a.png"].seed) == ("pelvis", "1")
    assert (metas["b.png"].region, metas["b.png"].seed) == ("", "")
    metas = _by_id(discover(tmp_path / "imgs", manifest=[{"path": "b.png", "modality": "us"}]))
    assert metas["b.png"].modality == "us" and metas["a.png"].modality == ""
    (tmp_path / "m.jsonl").write_text(json.dumps({"path": "a.png", "view": "LAT"}) + "\n")
    assert _by_id(discover(tmp_path / "imgs", manifest=tmp_path / "m.jsonl"))["a.png"].view == "lateral"
    with pytest.raises(ManifestError, match="does not exist"):
        discover(tmp_path / "imgs", manifest=tmp_path / "nope.csv")
    with pytest.raises(ManifestError, match="no 'path' column"):
        discover(tmp_path / "imgs", manifest=[{"file": "a.png"}])


def _chunk(ctype: bytes, data: bytes) -> bytes:
    import struct
    import zlib

    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(ctype)))


def _png_with_trailing_text(path: Path, chunks: list[bytes], corrupt_idat: bool = False) -> Path:
    """A PNG whose text chunks come after IDAT (just before IEND), optionally with garbage IDAT."""
    import io

    buf = io.BytesIO()
    Image.fromarray(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64).astype(np.uint8)).save(buf, "PNG")
    raw = buf.getvalue()
    iend = raw.rindex(b"IEND") - 4
    body = raw[:iend]
    if corrupt_idat:
        at = body.index(b"IDAT") + 4
        n = int.from_bytes(body[at - 8:at - 4], "big")
        body = body[:at - 8] + _chunk(b"IDAT", b"\xff" * n) + body[at + n + 4:]
    path.write_bytes(body + b"".join(chunks) + raw[iend:])
    return path


def test_png_text_after_idat_all_chunk_types_match_pillow(tmp_path: Path) -> None:
    import zlib

    from anatscore.io.manifest import png_text_chunks

    chunks = [
        _chunk(b"tEXt", b"Comment\0latin-1 caf\xe9"),
        _chunk(b"zTXt", b"Description\0\0" + zlib.compress(b"compressed text")),
        _chunk(b"iTXt", b"prompt\0\0\0en\0Prompt\0" + "AP chest radiograph, \u00b5".encode()),
        _chunk(b"iTXt", b"note\0\x01\0\0\0" + zlib.compress("zipped \u2713".encode())),
        _chunk(b"tEXt", b"bad\0crc")[:-1] + b"\0",  # CRC broken: ignored
    ]
    png = _png_with_trailing_text(tmp_path / "late.png", chunks)
    got = png_text_chunks(png)
    with Image.open(png) as im:
        assert got == {k: str(v) for k, v in im.text.items() if k != "bad"}  # Pillow as reference
    assert got["prompt"] == "AP chest radiograph, \u00b5" and got["note"] == "zipped \u2713"
    meta = discover(tmp_path)[0]
    assert meta.prompt == "AP chest radiograph, \u00b5"
    assert meta.inferred["prompt"] == "png-text:prompt"


def test_png_text_read_without_decoding_pixels(tmp_path: Path) -> None:
    """Discovery never decodes pixel data: a PNG with garbage IDAT still gives its prompt (and
    fails later, at decode time, as a per-image load error)."""
    png = _png_with_trailing_text(tmp_path / "broken.png", [_chunk(b"tEXt", b"prompt\0lateral knee")],
                                  corrupt_idat=True)
    with pytest.raises(Exception), Image.open(png) as im:  # Pillow needs the pixels to reach it
        im.text
    meta = discover(tmp_path)[0]
    assert meta.prompt == "lateral knee"
    with pytest.raises(LoadError):
        load_image(meta)


def test_png_text_chunks_on_non_png_and_truncated(tmp_path: Path) -> None:
    from anatscore.io.manifest import png_text_chunks

    (tmp_path / "x.png").write_bytes(b"not a png at all")
    assert png_text_chunks(tmp_path / "x.png") == {}
    png = _png_with_trailing_text(tmp_path / "t.png", [_chunk(b"tEXt", b"prompt\0hand")])
    data = png.read_bytes()
    png.write_bytes(data[:data.index(b"prompt") + 3])  # cut inside the text chunk
    assert png_text_chunks(png) == {}


def test_unsupported_files_are_reported_once(tmp_path: Path, caplog) -> None:
    import logging

    _png(tmp_path / "a.png")
    for name in ("traj.gif", "b.gif", "video.mp4", "vol.nii.gz", "notes.txt", "a.png.json"):
        (tmp_path / name).write_bytes(b"{}")
    with caplog.at_level(logging.WARNING, logger="anatscore.io.discover"):
        assert [m.image_id for m in discover(tmp_path)] == ["a.png"]
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 1 and "4 files under" in msgs[0] and "2 .gif, 1 .mp4, 1 .nii.gz" in msgs[0]
