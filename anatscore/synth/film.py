"""Render photographs of films and multi-panel grids from native images.

Two renderings, both randomised by a :class:`numpy.random.Generator` so a benchmark can draw
hundreds of varied cases from a few real images:

- :func:`render_film_photo`: the native image printed on film and photographed on a light box,
  on a table, or shown on a monitor and photographed: random perspective (the film's four corners
  moved independently), rotation, partial cropping by the photo's frame, a background around the
  film, a colour cast, vignetting, glare, defocus, sensor noise and JPEG compression.
- :func:`render_grid`: several slices or views tiled into ``rows x cols`` panels with gutters
  (black, white or grey, possibly zero-width), optional panel labels, optional JPEG.

Inputs are grey float images in [0, 1] (bright = dense for radiographs, as
:class:`~anatscore.types.LoadedImage` holds them); outputs are uint8 RGB arrays plus a record of
the parameters drawn, so a test can state what was rendered.

Example::

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> img = np.zeros((64, 64), np.float32); img[16:48, 16:48] = 1.0
    >>> photo, params = render_film_photo(img, rng, out_size=128)
    >>> photo.shape[2], photo.dtype, params.setting in FILM_SETTINGS
    (3, dtype('uint8'), True)
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy import ndimage as ndi
from skimage import transform

#: Where the film is photographed.
FILM_SETTINGS: tuple[str, ...] = ("lightbox", "table", "monitor")


@dataclass(frozen=True)
class FilmPhotoParams:
    """What :func:`render_film_photo` drew.

    Attributes:
        setting: one of :data:`FILM_SETTINGS`.
        corners: the film's corners in the photo (x, y), clockwise from top-left, in pixels.
        tint: per-channel gain applied to the whole photo (R, G, B).
        vignetting: relative fall-off of brightness at the corners (0 = none).
        glare: peak added brightness of the glare spot (0 = none).
        jpeg_quality: JPEG quality used (0 = not compressed).
        film_area: fraction of the photo covered by the film.
    """

    setting: str
    corners: tuple[tuple[float, float], ...]
    tint: tuple[float, float, float]
    vignetting: float
    glare: float
    jpeg_quality: int
    film_area: float


@dataclass(frozen=True)
class GridParams:
    """What :func:`render_grid` drew: layout, gutter width (pixels) and value, labels, JPEG."""

    rows: int
    cols: int
    gutter: int
    gutter_value: float
    labels: bool
    jpeg_quality: int
    tile_shape: tuple[int, int] = field(default=(0, 0))


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip a uint8 RGB (or grey) array through JPEG at ``quality`` (Pillow's encoder)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert(im.mode)).copy()


def _smooth_noise(shape: tuple[int, int], rng: np.random.Generator, scale: float) -> np.ndarray:
    """Zero-mean, unit-std smooth random field with correlation length ~``scale`` pixels."""
    field_ = ndi.gaussian_filter(rng.standard_normal(shape), sigma=max(scale, 0.5), mode="wrap")
    field_ -= field_.mean()
    return field_ / (field_.std() + 1e-9)


def _background(setting: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Float RGB background in [0, 1] for a setting: light box, table top or monitor bezel."""
    h, w = shape
    if setting == "lightbox":
        level = rng.uniform(0.75, 1.0)
        colour = np.array([1.0, 1.0, 1.0]) + rng.uniform(-0.08, 0.05, 3)
        base = level * colour[None, None, :] * np.ones((h, w, 1))
        base *= 1.0 + 0.05 * _smooth_noise(shape, rng, 0.25 * max(h, w))[..., None]
    elif setting == "table":
        colour = rng.uniform(0.1, 0.8, 3)
        tex = 0.08 * _smooth_noise(shape, rng, rng.uniform(2, 12)) + 0.1 * _smooth_noise(
            shape, rng, 0.2 * max(h, w)
        )
        base = colour[None, None, :] * (1.0 + tex[..., None])
    else:  # monitor bezel and the room around it: dark, slightly coloured, with a smooth gradient
        colour = rng.uniform(0.02, 0.2) * (1.0 + rng.uniform(-0.2, 0.2, 3))
        yy = np.linspace(-1, 1, h)[:, None]
        base = colour[None, None, :] * (1.0 + 0.3 * yy[..., None]) * np.ones((h, w, 1))
    return np.clip(base, 0.0, 1.0)


def _film_corners(
    out_hw: tuple[int, int], film_hw: tuple[int, int], rng: np.random.Generator
) -> np.ndarray:
    """Corners (x, y) of the film in the photo, clockwise from top-left.

    The film keeps its aspect ratio, covers roughly 35-85% of the photo, is rotated by up to
    12 degrees, each corner is moved independently by up to 8% of the photo's size (perspective),
    and in one case out of five the film is shifted so that part of it leaves the frame.
    """
    h, w = out_hw
    fh, fw = film_hw
    area = rng.uniform(0.35, 0.85)
    s = np.sqrt(area * h * w / (fh * fw))
    s = min(s, 0.98 * w / fw, 0.98 * h / fh)
    hw_, hh_ = 0.5 * fw * s, 0.5 * fh * s
    base = np.array([[-hw_, -hh_], [hw_, -hh_], [hw_, hh_], [-hw_, hh_]])
    ang = np.deg2rad(rng.uniform(-12, 12))
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    pts = base @ rot.T
    pts += rng.uniform(-0.08, 0.08, size=(4, 2)) * np.array([w, h])
    # keep it inside the frame unless a crop is wanted
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    cx = rng.uniform(w / 2 - max(0.0, w / 2 - (hi[0] - lo[0]) / 2), w / 2 + max(0.0, w / 2 - (hi[0] - lo[0]) / 2))
    cy = rng.uniform(h / 2 - max(0.0, h / 2 - (hi[1] - lo[1]) / 2), h / 2 + max(0.0, h / 2 - (hi[1] - lo[1]) / 2))
    centre = np.array([cx, cy]) - (lo + hi) / 2
    pts = pts + centre
    if rng.random() < 0.2:
        side = rng.integers(4)
        shift = rng.uniform(0.05, 0.15) * (w if side % 2 else h)
        pts += {0: (0, -shift), 1: (shift, 0), 2: (0, shift), 3: (-shift, 0)}[int(side)]
    return pts


def render_film_photo(
    grey: np.ndarray,
    rng: np.random.Generator,
    out_size: int | None = None,
    setting: str | None = None,
) -> tuple[np.ndarray, FilmPhotoParams]:
    """A photograph of ``grey`` printed on film (or shown on a monitor).

    Args:
        grey: float (H, W) in [0, 1], bright = dense; a grid from :func:`render_grid` works too.
        rng: the random generator (every parameter is drawn from it).
        out_size: long side of the photo in pixels (default: drawn from 384-768).
        setting: ``lightbox``, ``table`` or ``monitor`` (default: drawn).

    Returns:
        (uint8 RGB photo, :class:`FilmPhotoParams`).

    Model: photo = JPEG(gain * tint * vignette * (background outside the film, backlight *
    (fog + (1 - fog) * image) inside it) + glare + noise), with a perspective warp of the film and
    an optional defocus blur.
    """
    grey = np.clip(np.asarray(grey, dtype=np.float64), 0.0, 1.0)
    setting = setting or FILM_SETTINGS[int(rng.integers(len(FILM_SETTINGS)))]
    if setting not in FILM_SETTINGS:
        raise ValueError(f"setting must be one of {FILM_SETTINGS}, got {setting!r}")
    long_side = int(out_size or rng.integers(384, 769))
    aspect = float(rng.choice([0.75, 1.0, 4 / 3, 1.5]))  # width / height
    out_hw = (long_side, int(long_side * aspect)) if aspect < 1 else (int(long_side / aspect), long_side)
    # the film: the image plus a narrow unexposed margin of film base
    m = int(rng.integers(0, max(1, int(0.06 * max(grey.shape))) + 1))
    film = np.pad(grey, m, constant_values=float(rng.uniform(0.0, 0.08)))
    fog = rng.uniform(0.0, 0.12)
    backlight = rng.uniform(0.7, 1.0)
    film = backlight * (fog + (1.0 - fog) * film)
    if setting == "monitor":  # a display's gamma and black level
        film = 0.03 + 0.95 * film ** rng.uniform(0.8, 1.3)
    corners = _film_corners(out_hw, film.shape, rng)
    fh, fw = film.shape
    src = np.array([[0, 0], [fw - 1, 0], [fw - 1, fh - 1], [0, fh - 1]], dtype=float)
    # maps photo (x, y) -> film (x, y), as warp() wants
    tf = transform.ProjectiveTransform.from_estimate(corners, src)
    warped = transform.warp(film, tf, output_shape=out_hw, order=1, cval=-1.0)
    inside = warped >= 0
    inside_soft = ndi.gaussian_filter(inside.astype(float), 0.7)
    bg = _background(setting, out_hw, rng)
    photo = bg * (1 - inside_soft[..., None]) + np.clip(warped, 0, 1)[..., None] * inside_soft[..., None]
    if setting == "lightbox":  # the light box glows through the thin film base too
        photo = np.maximum(photo, 0.06 * bg)
    h, w = out_hw
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = h * rng.uniform(0.35, 0.65), w * rng.uniform(0.35, 0.65)
    r2 = ((yy - cy) / h) ** 2 + ((xx - cx) / w) ** 2
    vig = rng.uniform(0.1, 0.55)
    photo *= (1.0 - vig * r2 / r2.max())[..., None]
    glare = float(rng.uniform(0.1, 0.5)) if rng.random() < 0.8 else 0.0
    if glare:
        gy, gx = rng.uniform(0.1, 0.9) * h, rng.uniform(0.1, 0.9) * w
        sig = rng.uniform(0.05, 0.25) * max(h, w)
        blob = np.exp(-(((yy - gy) ** 2 + ((xx - gx) * rng.uniform(0.5, 2.0)) ** 2) / (2 * sig**2)))
        photo += glare * blob[..., None] * rng.uniform(0.9, 1.0, 3)
    tint = np.array([1.0, 1.0, 1.0]) + rng.uniform(-0.15, 0.15, 3)
    tint /= tint.mean()
    photo *= tint[None, None, :] * rng.uniform(0.85, 1.15)
    blur = rng.uniform(0.0, 1.5)
    if blur > 0.3:
        photo = ndi.gaussian_filter(photo, sigma=(blur, blur, 0))
    photo += rng.normal(0.0, rng.uniform(0.003, 0.03), photo.shape)
    rgb = (np.clip(photo, 0, 1) * 255 + 0.5).astype(np.uint8)
    q = int(rng.integers(50, 96)) if rng.random() < 0.9 else 0
    if q:
        rgb = _jpeg(rgb, q)
    params = FilmPhotoParams(
        setting=setting,
        corners=tuple((float(x), float(y)) for x, y in corners),
        tint=(float(tint[0]), float(tint[1]), float(tint[2])),
        vignetting=float(vig),
        glare=glare,
        jpeg_quality=q,
        film_area=float(inside.mean()),
    )
    return rgb, params


def _fit(img: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize ``img`` to fit inside ``shape`` keeping its aspect ratio, centred on black."""
    th, tw = shape
    h, w = img.shape
    s = min(th / h, tw / w)
    nh, nw = max(1, int(round(h * s))), max(1, int(round(w * s)))
    small = transform.resize(img, (nh, nw), order=1, anti_aliasing=s < 1, preserve_range=True)
    out = np.zeros(shape, dtype=np.float64)
    y0, x0 = (th - nh) // 2, (tw - nw) // 2
    out[y0 : y0 + nh, x0 : x0 + nw] = small
    return out


def render_grid(
    tiles: Sequence[np.ndarray],
    rng: np.random.Generator,
    rows: int | None = None,
    cols: int | None = None,
    tile_size: int | None = None,
    labels: bool | None = None,
) -> tuple[np.ndarray, GridParams]:
    """Tile grey images into a ``rows x cols`` grid, as a printed CT/MR film or a figure.

    Args:
        tiles: grey float images in [0, 1]; reused cyclically (each use is randomly shifted and
            zoomed a little, as neighbouring slices differ) when fewer than ``rows * cols``.
        rng: the random generator.
        rows, cols: layout (default: drawn, 1-4 rows x 2-5 cols or 2-4 rows x 1 col).
        tile_size: side of a panel in pixels (default: drawn so the grid is 256-1024 px).
        labels: draw a small white panel number in each panel's corner (default: drawn).

    Returns:
        (uint8 RGB grid, :class:`GridParams`).
    """
    if not tiles:
        raise ValueError("render_grid needs at least one tile")
    if rows is None or cols is None:
        rows, cols = (int(rng.integers(1, 5)), int(rng.integers(2, 6)))
        if rng.random() < 0.15:
            rows, cols = int(rng.integers(2, 5)), 1
    tile_size = int(tile_size or max(48, int(rng.integers(256, 1025)) // max(rows, cols)))
    th = tile_size
    tw = int(tile_size * rng.choice([1.0, 1.0, 0.8, 1.25]))
    gutter = int(rng.choice([0, 0, 1, 2, 4, max(2, tile_size // 20)]))
    gv = float(rng.choice([0.0, 0.0, 1.0, 0.5]))
    labels = bool(rng.random() < 0.5) if labels is None else labels
    H = rows * th + (rows + 1) * gutter
    W = cols * tw + (cols + 1) * gutter
    canvas = np.full((H, W), gv, dtype=np.float64)
    k = 0
    for r in range(rows):
        for c in range(cols):
            src = np.asarray(tiles[k % len(tiles)], dtype=np.float64)
            if k >= len(tiles):  # a "neighbouring slice": small zoom and shift of a reused tile
                z = rng.uniform(0.9, 1.1)
                src = ndi.shift(ndi.zoom(src, z, order=1), rng.uniform(-3, 3, 2), order=1)
            k += 1
            y0 = gutter + r * (th + gutter)
            x0 = gutter + c * (tw + gutter)
            canvas[y0 : y0 + th, x0 : x0 + tw] = _fit(np.clip(src, 0, 1), (th, tw))
    rgb = np.repeat((np.clip(canvas, 0, 1) * 255 + 0.5).astype(np.uint8)[..., None], 3, axis=2)
    if labels:
        from PIL import Image, ImageDraw

        im = Image.fromarray(rgb)
        draw = ImageDraw.Draw(im)
        n = 0
        for r in range(rows):
            for c in range(cols):
                n += 1
                draw.text((gutter + c * (tw + gutter) + 3, gutter + r * (th + gutter) + 2), str(n), fill=(255, 255, 255))
        rgb = np.asarray(im).copy()
    q = int(rng.integers(60, 96)) if rng.random() < 0.5 else 0
    if q:
        rgb = _jpeg(rgb, q)
    return rgb, GridParams(rows, cols, gutter, gv, labels, q, (th, tw))
