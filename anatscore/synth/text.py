"""Burn text into an image, as scanners, viewers and generators do (ground truth for
``layout.burned_text``).

Example::

    >>> import numpy as np
    >>> out, boxes = burn_text(np.zeros((128, 128), np.float32), np.random.default_rng(0))
    >>> out.shape, len(boxes) >= 1
    ((128, 128), True)
"""

from __future__ import annotations

import numpy as np

_WORDS = (
    "L", "R", "AP", "PA", "LAT", "SUPINE", "ERECT", "PORTABLE", "kVp 70", "mAs 12", "HFS",
    "WL 40 WW 400", "ST 5.0mm", "Se 3 Im 42", "F 12.4cm", "GAIN 52", "DR 60", "FR 28Hz",
    "MI 1.1 TIs 0.4", "2024/03/11", "14:22:05", "ID 004172", "M 63Y", "SAMPLE HOSPITAL",
    "RIGHT KNEE", "LT HIP", "liver", "kidney", "Dobhoff", "ARRXQ LRTEX", "WSCNT", "XRAY",
)


def burn_text(
    grey: np.ndarray, rng: np.random.Generator, lines: int | None = None, size: int | None = None
) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Draw 1-4 short text lines (white or black, Pillow's scalable default font) into ``grey``.

    Lines go in the corners and along the edges, where burned-in data sits, on a plain box of
    the opposite colour one time in two (a label box), else straight on the image.

    Returns:
        (grey float32 [0, 1] with text, list of (x0, y0, x1, y1) boxes of the lines drawn).
    """
    from PIL import Image, ImageDraw, ImageFont

    g = np.clip(np.asarray(grey, dtype=np.float32), 0, 1)
    h, w = g.shape
    im = Image.fromarray((g * 255 + 0.5).astype(np.uint8))
    draw = ImageDraw.Draw(im)
    n = int(lines or rng.integers(1, 5))
    px = int(size or max(9, int(rng.uniform(0.018, 0.04) * max(h, w))))
    font = ImageFont.load_default(size=px)
    boxes: list[tuple[int, int, int, int]] = []
    for i in range(n):
        text = " ".join(str(rng.choice(_WORDS)) for _ in range(int(rng.integers(1, 3))))
        x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
        tw, th = x1 - x0, y1 - y0
        if tw >= w - 4 or th >= h - 4:
            continue
        corner = int(rng.integers(4))
        x = 4 if corner in (0, 3) else w - tw - 4
        y = 4 + i * (th + 6) if corner in (0, 1) else h - (i + 1) * (th + 6) - 4
        y = int(np.clip(y, 0, h - th - 1))
        white = rng.random() < 0.8
        if rng.random() < 0.5:
            draw.rectangle((x - 2, y - 2, x + tw + 2, y + th + 4), fill=0 if white else 255)
        draw.text((x - x0, y - y0), text, fill=255 if white else 0, font=font)
        boxes.append((x, y, x + tw, y + th))
    return np.asarray(im, dtype=np.float32) / 255.0, boxes
