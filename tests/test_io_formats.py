"""Every input format decodes to the documented grey [0, 1] / colour arrays, with known answers."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anatscore.config import EvalConfig
from anatscore.io import discover, load_check, load_image
from anatscore.io.loading import LUMA_WEIGHTS
from anatscore.types import ImageMeta

pydicom = pytest.importorskip("pydicom")
tifffile = pytest.importorskip("tifffile")


def _meta(path: Path, **kw: object) -> ImageMeta:
    return ImageMeta(image_id=path.name, path=path.name, abspath=str(path), **kw)  # type: ignore[arg-type]


def _ramp(h: int = 24, w: int = 32, hi: int = 255) -> np.ndarray:
    return (np.arange(h * w).reshape(h, w) * hi // (h * w - 1)).astype(np.int64)


def _luma(rgb: np.ndarray) -> np.ndarray:
    return (rgb.astype(np.float64) / 255.0) @ LUMA_WEIGHTS


# --------------------------------------------------------------------------- PIL formats


def test_png_8bit_grey_exact(tmp_path: Path) -> None:
    a = _ramp().astype(np.uint8)
    Image.fromarray(a).save(tmp_path / "g.png")
    im = load_image(_meta(tmp_path / "g.png"))
    assert im.grey.dtype == np.float32 and im.colour is None
    np.testing.assert_allclose(im.grey, a / 255.0, atol=1e-7)
    assert im.meta.format == "png" and (im.meta.width, im.meta.height) == (32, 24)
    assert im.info["bit_depth"] == 8


def test_png_16bit_known_values(tmp_path: Path) -> None:
    vals = np.array([[0, 1000, 32768], [40000, 65534, 65535]], dtype=np.uint16)
    a = np.kron(vals, np.ones((4, 4), dtype=np.uint16))
    Image.fromarray(a).save(tmp_path / "g16.png")
    im = load_image(_meta(tmp_path / "g16.png"))
    assert im.info["bit_depth"] == 16
    expected = a.astype(np.float64) / 65535.0
    np.testing.assert_allclose(im.grey, expected, atol=1e-7)
    assert im.grey[0, 4] == pytest.approx(1000 / 65535, abs=1e-7)  # 16-bit precision survives


def test_png_rgb_luma_and_colour(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    im = load_image(_meta(tmp_path / "c.png"))
    np.testing.assert_array_equal(im.colour, rgb)
    np.testing.assert_allclose(im.grey, _luma(rgb), atol=1e-6)


def test_png_rgba_palette_la(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    rgba = rng.integers(0, 256, (16, 16, 4), dtype=np.uint8)
    rgba[..., 3] = 200
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    im = load_image(_meta(tmp_path / "a.png"))
    np.testing.assert_array_equal(im.colour, rgba[..., :3])
    assert im.info["alpha_min"] == 200

    pal = Image.fromarray(rgba[..., :3]).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pal.save(tmp_path / "p.png")
    ref = np.asarray(pal.convert("RGB"))
    im = load_image(_meta(tmp_path / "p.png"))
    np.testing.assert_array_equal(im.colour, ref)
    np.testing.assert_allclose(im.grey, _luma(ref), atol=1e-6)

    la = np.stack([_ramp(16, 16).astype(np.uint8), np.full((16, 16), 255, np.uint8)], -1)
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    im = load_image(_meta(tmp_path / "la.png"))
    np.testing.assert_allclose(im.grey, la[..., 0] / 255.0, atol=1e-7)
    assert im.colour is None


def test_jpeg_bmp_webp(tmp_path: Path) -> None:
    a = np.kron(_ramp(8, 8).astype(np.uint8), np.ones((8, 8), np.uint8))
    Image.fromarray(a).save(tmp_path / "g.jpg", quality=95)
    im = load_image(_meta(tmp_path / "g.jpg"))
    assert im.meta.format == "jpeg"
    assert np.abs(im.grey - a / 255.0).mean() < 0.01  # lossy: close, not exact

    Image.fromarray(a).save(tmp_path / "g.bmp")
    np.testing.assert_allclose(load_image(_meta(tmp_path / "g.bmp")).grey, a / 255.0, atol=1e-7)

    rgb = np.stack([a, a[::-1], a.T], -1)
    Image.fromarray(rgb).save(tmp_path / "c.webp", lossless=True)
    im = load_image(_meta(tmp_path / "c.webp"))
    assert im.meta.format == "webp"
    np.testing.assert_array_equal(im.colour, rgb)


def test_format_from_bytes_not_name(tmp_path: Path) -> None:
    a = _ramp().astype(np.uint8)
    Image.fromarray(a).save(tmp_path / "really_png.jpg", format="PNG")
    im = load_image(_meta(tmp_path / "really_png.jpg"))
    assert im.meta.format == "png"
    np.testing.assert_allclose(im.grey, a / 255.0, atol=1e-7)


# --------------------------------------------------------------------------- TIFF


def test_tiff_16bit_float_rgb(tmp_path: Path) -> None:
    a16 = (_ramp(10, 12, 65535)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "g16.tif", a16)
    im = load_image(_meta(tmp_path / "g16.tif"))
    assert im.meta.format == "tiff" and im.info["bit_depth"] == 16
    np.testing.assert_allclose(im.grey, a16 / 65535.0, atol=1e-7)

    f = np.linspace(0, 1, 120, dtype=np.float32).reshape(10, 12)
    tifffile.imwrite(tmp_path / "f.tif", f)
    np.testing.assert_allclose(load_image(_meta(tmp_path / "f.tif")).grey, f, atol=1e-7)

    hu = np.linspace(-1000, 3000, 120, dtype=np.float32).reshape(10, 12)
    tifffile.imwrite(tmp_path / "hu.tif", hu)
    im = load_image(_meta(tmp_path / "hu.tif"))
    np.testing.assert_allclose(im.grey, (hu + 1000) / 4000, atol=1e-6)
    assert "min-max" in im.info["intensity_mapping"]

    rgb16 = np.stack([a16, a16[::-1], 65535 - a16], -1)
    tifffile.imwrite(tmp_path / "rgb16.tif", rgb16, photometric="rgb")
    im = load_image(_meta(tmp_path / "rgb16.tif"))
    np.testing.assert_allclose(im.grey, (rgb16 / 65535.0) @ LUMA_WEIGHTS, atol=1e-6)
    assert im.colour.dtype == np.uint8 and im.colour.shape == (10, 12, 3)


# --------------------------------------------------------------------------- DICOM


def _dicom(path: Path, pixels: np.ndarray, photometric: str = "MONOCHROME2", **tags: object) -> Path:
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    fm = FileMetaDataset()
    fm.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"
    fm.MediaStorageSOPInstanceUID = generate_uid()
    fm.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=fm, preamble=b"\0" * 128)
    ds.SOPClassUID = fm.MediaStorageSOPClassUID
    ds.SOPInstanceUID = fm.MediaStorageSOPInstanceUID
    ds.Modality = "DX"
    frames = pixels.ndim == 3 and photometric.startswith("MONO") or pixels.ndim == 4
    if frames:
        ds.NumberOfFrames = pixels.shape[0]
    ds.Rows, ds.Columns = pixels.shape[-3:-1] if pixels.ndim == 4 or photometric == "RGB" else pixels.shape[-2:]
    ds.SamplesPerPixel = 3 if photometric == "RGB" else 1
    if photometric == "RGB":
        ds.PlanarConfiguration = 0
    ds.PhotometricInterpretation = photometric
    bits = pixels.dtype.itemsize * 8
    ds.BitsAllocated = bits
    ds.BitsStored = tags.pop("BitsStored", bits)
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if pixels.dtype.kind == "i" else 0
    for k, v in tags.items():
        setattr(ds, k, v)
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def _window(x: np.ndarray, c: float, w: float) -> np.ndarray:
    """DICOM PS3.3 C.11.2.1.2.1 linear window to [0, 1], written independently of pydicom."""
    lo, hi = c - 0.5 - (w - 1) / 2, c - 0.5 + (w - 1) / 2
    y = ((x - (c - 0.5)) / (w - 1) + 0.5)
    return np.where(x <= lo, 0.0, np.where(x > hi, 1.0, y))


def test_dicom_rescale_and_window(tmp_path: Path) -> None:
    stored = (np.arange(32 * 32).reshape(32, 32) * 4).astype(np.uint16)  # 0..4092
    f = _dicom(tmp_path / "w.dcm", stored, BitsStored=12, RescaleSlope=2, RescaleIntercept=-1024,
               WindowCenter=1000, WindowWidth=2000, BodyPartExamined="CHEST", ViewPosition="PA")
    im = load_image(_meta(f))
    expected = _window(stored * 2.0 - 1024.0, 1000.0, 2000.0)
    np.testing.assert_allclose(im.grey, expected, atol=1e-6)
    assert im.meta.format == "dicom"
    assert (im.meta.modality, im.meta.region, im.meta.view) == ("xray", "chest", "pa")
    assert im.meta.inferred == {"modality": "dicom", "region": "dicom", "view": "dicom"}
    assert im.info["dicom"]["Modality"] == "DX" and im.info["bit_depth"] == 12


def test_dicom_monochrome1_inverted(tmp_path: Path) -> None:
    stored = (np.arange(16 * 16).reshape(16, 16) * 16).astype(np.uint16)
    m2 = load_image(_meta(_dicom(tmp_path / "m2.dcm", stored))).grey
    m1 = load_image(_meta(_dicom(tmp_path / "m1.dcm", stored, photometric="MONOCHROME1"))).grey
    np.testing.assert_allclose(m1, 1.0 - m2, atol=1e-7)
    # no VOI: min-max of the modality values
    np.testing.assert_allclose(m2, stored / stored.max(), atol=1e-7)
    assert m1[0, 0] == pytest.approx(1.0) and m1[-1, -1] == pytest.approx(0.0)


def test_dicom_manifest_fields_not_overridden(tmp_path: Path) -> None:
    stored = (np.arange(256).reshape(16, 16)).astype(np.uint16)
    f = _dicom(tmp_path / "k.dcm", stored, BodyPartExamined="KNEE")
    im = load_image(_meta(f, region="hand"))
    assert im.meta.region == "hand" and "region" not in im.meta.inferred
    assert im.meta.modality == "xray"


@pytest.mark.parametrize("tags, region, source", [
    ({"BodyPartExamined": "EXTREMITY", "StudyDescription": "Non-ossifying fibroma of distal tibia"},
     "leg", "dicom:StudyDescription"),
    ({"SeriesDescription": "T1W SHOULDER"}, "shoulder", "dicom:SeriesDescription"),
    ({"StudyDescription": "CT chest abdomen pelvis"}, "", None),  # several regions: not guessed
    ({"StudyDescription": "Echocardiogram", "ProtocolName": "Quad Capture"}, "", None),
    ({"BodyPartExamined": "KNEE", "StudyDescription": "hand"}, "knee", "dicom"),  # the coded tag wins
])
def test_dicom_region_from_description(tmp_path: Path, tags: dict, region: str, source: str | None) -> None:
    f = _dicom(tmp_path / "d.dcm", np.arange(256, dtype=np.uint16).reshape(16, 16), **tags)
    im = load_image(_meta(f))
    assert im.meta.region == region and im.meta.inferred.get("region") == source


def test_dicom_multiframe_first_and_all(tmp_path: Path) -> None:
    frames = np.stack([np.arange(64).reshape(8, 8) + 100 * i for i in range(3)]).astype(np.uint16)
    f = _dicom(tmp_path / "mf.dcm", frames)
    im = load_image(_meta(f))
    assert im.info["n_frames"] == 3 and im.info["frame"] == 0
    np.testing.assert_allclose(im.grey, np.arange(64).reshape(8, 8) / 63.0, atol=1e-7)
    metas = discover(tmp_path, dicom_frames="all")
    assert [m.image_id for m in metas] == ["mf.dcm", "mf.dcm#frame=1", "mf.dcm#frame=2"]
    second = load_image(metas[1])
    assert second.info["frame"] == 1
    assert "frame 1 of 3" in load_check(second, None).reason
    assert len(discover(tmp_path)) == 1  # default: first frame only


def test_dicom_rgb_keeps_colour(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    im = load_image(_meta(_dicom(tmp_path / "c.dcm", rgb, photometric="RGB", Modality="US")))
    np.testing.assert_array_equal(im.colour, rgb)
    np.testing.assert_allclose(im.grey, _luma(rgb), atol=1e-6)
    assert im.meta.modality == "us"


# --------------------------------------------------------------------------- real files


@pytest.mark.realdata
def test_real_jpeg2000_cr_matches_independent_rendering(shared_data: Path) -> None:
    """RG1_J2KR.dcm (JPEG 2000 lossless, MONOCHROME1) against the display PNG rendered
    independently (0.5-99.5 percentile window, inverted): same picture up to the window."""
    d = shared_data / "real/xray/pydicom_data"
    im = load_image(_meta(d / "RG1_J2KR.dcm"))
    ref = np.asarray(Image.open(d / "RG1_J2KR_display.png"), dtype=np.float64) / 255.0
    assert im.grey.shape == ref.shape == (1955, 1841)
    r = np.corrcoef(im.grey.ravel(), ref.ravel())[0, 1]
    assert r > 0.999, r  # measured 0.99987
    assert (im.meta.modality, im.meta.region, im.meta.view) == ("xray", "chest", "pa")
    assert im.info["photometric"] == "MONOCHROME1"


@pytest.mark.realdata
def test_real_colour_and_palette_ultrasound(shared_data: Path) -> None:
    d = shared_data / "real/us/dicom_pydicom"
    ybr = load_image(_meta(d / "US1_J2KR.dcm"))  # YBR_RCT, JPEG 2000
    pal = load_image(_meta(d / "examples_palette.dcm"))  # PALETTE COLOR
    cine = load_image(_meta(d / "color3d_jpeg_baseline.dcm"))  # YBR_FULL_422, 120 frames
    for im in (ybr, pal, cine):
        assert im.colour is not None and im.colour.shape[-1] == 3
        assert im.meta.modality == "us"
        # real colour content: the channels differ somewhere (Doppler / palette)
        assert np.abs(im.colour[..., 0].astype(int) - im.colour[..., 2]).max() > 20
    assert cine.info["n_frames"] == 120


def test_decoding_is_thread_safe(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    paths = []
    for i in range(6):
        a = rng.integers(0, 65535, (40, 50), dtype=np.uint16)
        if i % 2:
            paths.append(_dicom(tmp_path / f"d{i}.dcm", a, WindowCenter=30000, WindowWidth=40000))
        else:
            Image.fromarray(a).save(tmp_path / f"p{i}.png")
            paths.append(tmp_path / f"p{i}.png")
    serial = [load_image(_meta(p)).grey for p in paths]
    results: dict[int, list[np.ndarray]] = {}

    def work(k: int) -> None:
        results[k] = [load_image(_meta(p), EvalConfig()).grey for p in paths * 3]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(4):
        for i, g in enumerate(results[k]):
            np.testing.assert_array_equal(g, serial[i % len(paths)])


def test_inpaint_original_and_mask(tmp_path: Path) -> None:
    a = _ramp(20, 20).astype(np.uint8)
    Image.fromarray(a).save(tmp_path / "gen.png")
    Image.fromarray(a[::-1]).save(tmp_path / "orig.png")
    m = np.zeros((20, 20), np.uint8)
    m[5:10, 5:15] = 255
    Image.fromarray(m).save(tmp_path / "mask.png")
    im = load_image(_meta(tmp_path / "gen.png", task="inpaint", original="orig.png", mask="mask.png"))
    np.testing.assert_allclose(im.original, a[::-1] / 255.0, atol=1e-7)
    assert im.mask.dtype == bool and im.mask.sum() == 50
    assert im.info["mask_fraction"] == pytest.approx(50 / 400)


def test_load_check_record(tmp_path: Path) -> None:
    a = (_ramp(8, 9, 65535)).astype(np.uint16)
    Image.fromarray(a).save(tmp_path / "x.png")
    res = load_check(load_image(_meta(tmp_path / "x.png")), None)
    assert res.passed is True and res.check == "load"
    assert "9x8 png" in res.reason and "16-bit" in res.reason


def test_png_16bit_colour_is_flagged(tmp_path: Path) -> None:
    """Pillow decodes 16-bit colour PNGs at 8 bits per channel; the loss is recorded, and the
    8-bit values are the high bytes of the 16-bit samples."""
    import struct
    import zlib

    h, w = 4, 5
    a = (np.arange(h * w * 3).reshape(h, w, 3) * 1000).astype(">u2")
    raw = b"".join(b"\x00" + a[i].tobytes() for i in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    f = tmp_path / "rgb16.png"
    f.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
                  + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    im = load_image(_meta(f))
    assert "decoded at 8 bits" in im.info["precision_note"]
    np.testing.assert_array_equal(im.colour, (a.astype(np.int64) >> 8).astype(np.uint8))


def test_dicom_voi_lut_sequence(tmp_path: Path) -> None:
    """A VOI LUT Sequence is applied (preferred over a window) and mapped by the LUT's range."""
    from pydicom.dataset import Dataset

    stored = (np.arange(16 * 16).reshape(16, 16) % 64).astype(np.uint16)
    f = _dicom(tmp_path / "lut.dcm", stored, BitsStored=6, WindowCenter=10, WindowWidth=4)
    ds = pydicom.dcmread(f)
    item = Dataset()
    lut = (np.arange(64) ** 2 // 8 + 100).astype(np.uint16)  # a non-linear LUT, 100..596
    item.LUTDescriptor = [64, 0, 16]
    item.LUTData = lut.astype("<u2").tobytes()  # stored as OW, as many modalities write it
    ds.VOILUTSequence = [item]
    ds.save_as(f)
    im = load_image(_meta(f))
    expected = (lut[stored].astype(np.float64) - lut.min()) / (lut.max() - lut.min())
    np.testing.assert_allclose(im.grey, expected, atol=1e-6)
    assert "VOI (LUT)" in im.info["intensity_mapping"]
