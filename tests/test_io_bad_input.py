"""Each kind of bad input gives a LoadError whose reason says what is wrong."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anatscore.config import EvalConfig
from anatscore.io import LoadError, RefusedInput, load_image
from anatscore.types import ImageMeta

pydicom = pytest.importorskip("pydicom")
tifffile = pytest.importorskip("tifffile")


def _meta(path: Path, **kw: object) -> ImageMeta:
    return ImageMeta(image_id=path.name, path=path.name, abspath=str(path), **kw)  # type: ignore[arg-type]


def _reason(path: Path, config: EvalConfig | None = None, **kw: object) -> str:
    with pytest.raises(LoadError) as err:
        load_image(_meta(path, **kw), config)
    return str(err.value)


def _noise_png(path: Path, h: int = 64, w: int = 64) -> Path:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8)).save(path)
    return path


def _png_header_only(path: Path, w: int, h: int) -> Path:
    """A PNG whose IHDR declares w x h, with a tiny IDAT: a decompression bomb's header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


def test_missing_and_zero_byte(tmp_path: Path) -> None:
    assert "file not found" in _reason(tmp_path / "nope.png")
    (tmp_path / "empty.png").write_bytes(b"")
    assert _reason(tmp_path / "empty.png") == "empty file (0 bytes)"


def test_text_file_named_png(tmp_path: Path) -> None:
    (tmp_path / "note.png").write_text("this is not an image\n")
    r = _reason(tmp_path / "note.png")
    assert r.startswith("not an image") and "text" in r


def test_truncated_png_and_jpeg(tmp_path: Path) -> None:
    data = _noise_png(tmp_path / "full.png", 128, 128).read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    assert "truncated" in _reason(tmp_path / "cut.png")
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (128, 128), dtype=np.uint8)).save(tmp_path / "full.jpg", quality=90)
    jdata = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(jdata[: len(jdata) // 2])
    assert "truncated" in _reason(tmp_path / "cut.jpg")


def test_truncated_and_corrupt_tiff(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    tifffile.imwrite(tmp_path / "ok.tif", rng.integers(0, 65535, (200, 300), dtype=np.uint16))
    data = (tmp_path / "ok.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(data[: len(data) // 2])
    assert _reason(tmp_path / "cut.tif").startswith("truncated TIFF")
    (tmp_path / "hdr.tif").write_bytes(data[:8] + b"\xff" * 100)
    assert _reason(tmp_path / "hdr.tif").startswith("corrupt TIFF")


def test_corrupt_png_data(tmp_path: Path) -> None:
    data = bytearray(_noise_png(tmp_path / "ok.png").read_bytes())
    idat = data.find(b"IDAT")
    for i in range(idat + 8, idat + 60):
        data[i] ^= 0x5A
    (tmp_path / "bad.png").write_bytes(bytes(data))
    r = _reason(tmp_path / "bad.png")
    assert r.startswith("corrupt PNG data"), r


def test_decompression_bomb_guard_before_decoding(tmp_path: Path) -> None:
    # declared 50000 x 50000 = 2.5e9 px; PIL refuses it at open (its own bomb error)
    r = _reason(_png_header_only(tmp_path / "bomb.png", 50000, 50000))
    assert "decompression-bomb" in r
    # a modest declared size above config.max_pixels is refused from the header alone
    r = _reason(_png_header_only(tmp_path / "big.png", 4000, 3000), EvalConfig(max_pixels=1_000_000))
    assert "decompression-bomb guard" in r and "4000x3000" in r and "12,000,000" in r


def test_dicom_bomb_header(tmp_path: Path) -> None:
    from test_io_formats import _dicom

    f = _dicom(tmp_path / "d.dcm", np.zeros((8, 8), np.uint16))
    ds = pydicom.dcmread(f)
    ds.Rows, ds.Columns = 60000, 60000
    ds.save_as(f)
    r = _reason(f)
    assert "decompression-bomb guard" in r and "60000x60000" in r


def test_dicom_without_pixel_data(tmp_path: Path) -> None:
    from test_io_formats import _dicom

    f = _dicom(tmp_path / "sr.dcm", np.arange(64, dtype=np.uint16).reshape(8, 8))
    ds = pydicom.dcmread(f)
    del ds.PixelData
    ds.save_as(f)
    assert "no pixel data" in _reason(f)


def test_dicom_truncated_pixel_data(tmp_path: Path) -> None:
    from test_io_formats import _dicom

    f = _dicom(tmp_path / "t.dcm", np.arange(64 * 64, dtype=np.uint16).reshape(64, 64))
    data = f.read_bytes()
    f.write_bytes(data[: len(data) - 3000])
    r = _reason(f)
    assert r.startswith("truncated or inconsistent DICOM pixel data"), r


@pytest.mark.realdata
def test_dicom_corrupt_jpeg2000_stream(tmp_path: Path, shared_data: Path) -> None:
    src = (shared_data / "real/xray/pydicom_data/RG3_J2KR.dcm").read_bytes()
    data = bytearray(src)
    mid = len(data) // 2
    data[mid:mid + 4000] = bytes(4000)
    f = tmp_path / "broken_j2k.dcm"
    f.write_bytes(bytes(data[: int(len(data) * 0.6)]))
    r = _reason(f)
    assert r.startswith("DICOM pixel data element is unreadable"), r


def test_nan_float_tiff(tmp_path: Path) -> None:
    a = np.linspace(0, 1, 100, dtype=np.float32).reshape(10, 10)
    a[3, 4] = np.nan
    a[5, 5] = np.inf
    tifffile.imwrite(tmp_path / "nan.tif", a)
    assert _reason(tmp_path / "nan.tif") == "image contains 2 NaN/inf pixel value(s)"


def test_constant_image_fails(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(tmp_path / "black.png")
    r = _reason(tmp_path / "black.png")
    assert "constant" in r and "0.000" in r and "safety filter" in r


def test_manifest_errors_and_refusals_surface(tmp_path: Path) -> None:
    m = ImageMeta(image_id="x.png", path="x.png")
    m.extra["load_error"] = "manifest line 3: file 'x.png' listed in the manifest is missing"
    with pytest.raises(LoadError, match="listed in the manifest is missing"):
        load_image(m)
    with pytest.raises(RefusedInput):
        load_image(ImageMeta(image_id="r", path="", refused=True))


def test_mask_size_mismatch_and_missing_original(tmp_path: Path) -> None:
    _noise_png(tmp_path / "gen.png", 32, 32)
    _noise_png(tmp_path / "mask.png", 16, 16)
    r = _reason(tmp_path / "gen.png", task="inpaint", mask="mask.png")
    assert r == "mask 'mask.png' is 16x16 but the image is 32x32"
    r = _reason(tmp_path / "gen.png", task="inpaint", original="gone.png")
    assert r.startswith("original 'gone.png': file not found")
    _noise_png(tmp_path / "small.png", 20, 20)
    r = _reason(tmp_path / "gen.png", task="inpaint", original="small.png")
    assert "is 20x20 but the image is 32x32" in r
    # outpainting: the original is the smaller source, that is fine
    im = load_image(_meta(tmp_path / "gen.png", task="outpaint", original="small.png"))
    assert im.original.shape == (20, 20)
