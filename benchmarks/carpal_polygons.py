"""Real carpal bone sizes and counts from the GrazPedWri radiologist polygons, against the
constants of ``wrist.carpal_separation``.

Usage::

    PYTHONPATH=. python benchmarks/carpal_polygons.py [--data ../shared/data]

The CVAT files in ``real/xray/wrist_grazpedwri/bone_polygons_cvat/`` hold radiologist polygons
(radius, ulna, the 8 carpal bones, metacarpals...) for 84 GRAZPEDWRI-DX wrists whose images are
not in the data folder; 80 of them carry the patient's sex and age in the file name
(``..._M014.png``). The polygons are the ground truth the images would give, so they can test two
things the check assumes, without the images:

1. **Ossified carpal bones by age** (bones annotated per wrist) against the floor the check
   applies at that age (``carpal_separable_by_age`` in the wrist record): the annotated count is
   the most separable pieces a detector could find, so a wrist annotated with fewer bones than
   the floor would be a false failure whatever the detector does.
2. **Piece filters on real bone shapes** (wrists with >= 7 annotated carpal bones: a complete
   carpus): with the carpal polygons rasterised, the carpal mass is the convex hull of their union
   (every joint space bridged, which the check's closing is meant to do); ``R`` is its inscribed
   radius (the maximum of its distance transform, as
   :func:`anatscore.anatomy.carpus.locate_carpus` takes it). For every annotated carpal bone the
   script reports its area as a fraction of the analysed region ``pi (roi R)^2`` (the check counts
   a piece from ``min_piece`` of it), its minor axis over ``R`` (``min_width``) and its major axis
   over ``R`` (``max_length``), with the filter values read from the check's defaults: the share
   of real bones each filter would drop.

Polygon shapes are drawn outlines, not detected pieces; overlapping bones (pisiform on
triquetrum) are counted as drawn.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi
from skimage import draw, measure, morphology

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from anatscore.anatomy.carpus import carpal_separation  # noqa: E402
from anatscore.anatomy.expected import expected  # noqa: E402

CARPALS = ("Os scaphoideum", "Os lunatum", "Os triquetrum", "Os pisiforme", "Os trapezium",
           "Os trapezoideum", "Os capitatum", "Os hamatum")
AGE_RE = re.compile(r"_([MF])(\d{3})\.")
#: The check's piece filters: the defaults of ``anatscore.anatomy.carpus.carpal_separation``.
_DEFAULTS = {k: v.default for k, v in inspect.signature(carpal_separation).parameters.items()}
MIN_PIECE, MIN_WIDTH, MAX_LENGTH, ROI = (float(_DEFAULTS[k]) for k in ("min_piece", "min_width", "max_length", "roi"))


@dataclass(frozen=True)
class Wrist:
    """One annotated wrist: age (years), and per carpal bone (area / ROI area, minor / R, major / R)."""

    name: str
    age: float
    bones: dict[str, tuple[float, float, float]]


def _points(s: str) -> np.ndarray:
    return np.array([[float(v) for v in p.split(",")] for p in s.split(";")])  # (x, y)


def load_wrists(folder: Path) -> list[Wrist]:
    """Parse every CVAT file in ``folder``; wrists with an age in the name and >= 1 carpal bone."""
    out = []
    for xml in sorted(folder.glob("*.xml")):
        for im in ET.parse(xml).getroot().iter("image"):
            m = AGE_RE.search(im.get("name", ""))
            if not m:
                continue
            h, w = int(im.get("height")), int(im.get("width"))
            masks: dict[str, np.ndarray] = {}
            for poly in im.iter("polygon"):
                att = poly.find("attribute[@name='Anatomie']")
                label = att.text if att is not None else None
                if label not in CARPALS:
                    continue
                pts = _points(poly.get("points"))
                mk = masks.setdefault(label, np.zeros((h, w), bool))
                rr, cc = draw.polygon(pts[:, 1], pts[:, 0], shape=(h, w))
                mk[rr, cc] = True
            if not masks:
                continue
            union = np.logical_or.reduce(list(masks.values()))
            # Every joint space bridged (the check's closing is meant to do that): the convex hull.
            closed = morphology.convex_hull_image(union)
            r_in = float(ndi.distance_transform_edt(np.pad(closed, 1)).max())
            roi_area = np.pi * (ROI * r_in) ** 2
            bones = {}
            for label, mk in masks.items():
                rp = measure.regionprops(mk.astype(np.uint8))[0]
                bones[label] = (rp.area / roi_area, rp.axis_minor_length / r_in, rp.axis_major_length / r_in)
            out.append(Wrist(im.get("name"), float(m.group(2)), bones))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = ap.parse_args(argv)
    folder = args.data / "real/xray/wrist_grazpedwri/bone_polygons_cvat"
    if not folder.is_dir():
        ap.error(f"no polygon folder at {folder}")
    wrists = load_wrists(folder)
    rows = expected("wrist").raw.get("carpal_separable_by_age", ())
    floor_adult = expected("wrist")["carpal_separable"].min
    print(f"GrazPedWri polygons: {len(wrists)} wrists with an age and >= 1 annotated carpal bone")
    print("\n1. Annotated (ossified) carpal bones per wrist vs the check's floor at that age")
    print("| age band | floor | wrists | annotated bones: min / median / max | wrists below the floor |")
    print("|---|---|---|---|---|")
    bands = [(r["age_min"], r["age_max"], r["min"]) for r in rows] or [(0, 200, floor_adult)]
    for lo, hi, fl in bands:
        sel = [len(w.bones) for w in wrists if lo <= w.age < hi]
        if not sel:
            print(f"| {lo:g}-{hi:g} y | {fl} | 0 | - | - |")
            continue
        below = "not judged" if fl is None else f"{sum(c < fl for c in sel)}/{len(sel)}"
        print(f"| {lo:g}-{hi:g} y | {fl if fl is not None else 'n/a'} | {len(sel)} | "
              f"{min(sel)} / {np.median(sel):g} / {max(sel)} | {below} |")
    full = [w for w in wrists if len(w.bones) >= 7]
    allb = [(lab, v) for w in full for lab, v in w.bones.items()]
    area = np.array([v[0] for _, v in allb])
    minor = np.array([v[1] for _, v in allb])
    major = np.array([v[2] for _, v in allb])
    print(f"\n2. The piece filters on {len(allb)} annotated carpal bones ({len(full)} wrists with >= 7)")
    print("| quantity | p5 | median | p95 | bones the filter drops |")
    print("|---|---|---|---|---|")
    for name, v, thr, below in (("area / ROI area", area, MIN_PIECE, True),
                                ("minor axis / R", minor, MIN_WIDTH, True),
                                ("major axis / R", major, MAX_LENGTH, False)):
        drop = (v < thr) if below else (v > thr)
        print(f"| {name} ({'<' if below else '>'} {thr:g} dropped) | {np.percentile(v, 5):.3f} | "
              f"{np.median(v):.3f} | {np.percentile(v, 95):.3f} | {int(drop.sum())}/{v.size} "
              f"({100 * drop.mean():.0f} %) |")
    print("\nBones dropped by any filter, by bone (of those annotated):")
    for lab in CARPALS:
        v = [b for name, b in allb if name == lab]
        if v:
            d = sum(a < MIN_PIECE or mi < MIN_WIDTH or ma > MAX_LENGTH for a, mi, ma in v)
            print(f"  {lab}: {d}/{len(v)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
