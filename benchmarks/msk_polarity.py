"""How often :func:`anatscore.anatomy.segment.segment` gets the polarity of real radiographs right.

For every real limb radiograph in ``../shared/data`` (the MURA examples, the GrazPedWri wrist, the
pydicom-data tibia display PNG, the 100 knee crops) the image and its inverted copy are segmented
as the checks segment them (:func:`~anatscore.anatomy.segment.segment_image`: the knee crops with
the knee record's polarity layout, the others by air at the border alone; the knee crops also
without the layout); printed: per image the verdicts, then the counts of correct ``inverted``
flags per set.

Usage::

    PYTHONPATH=. python -m benchmarks.msk_polarity [--data ../shared/data]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from anatscore.anatomy.polarity import layout_inverted
from anatscore.anatomy.segment import segment

from .anatomy_cases.msk import knee_files, load_grey


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    args = p.parse_args(argv)
    xray = args.data / "real" / "xray"
    others = sorted((xray / "msk_mura_examples").glob("*.png")) + sorted((xray / "wrist_grazpedwri").glob("*.png"))
    others += [xray / "pydicom_data" / "RG3_J2KR_display.png"]
    knees = knee_files(args.data)
    sets = {"other limb radiographs": ([f for f in others if f.is_file()], None),
            "knee crops, air at the border alone": (knees, None),
            "knee crops, with the knee layout": (knees, "knee")}
    for name, (files, region) in sets.items():
        kept = caught = 0
        for f in files:
            g = load_grey(f)
            a = segment(g, inverted=layout_inverted(g, region)).inverted
            b = segment(1.0 - g, inverted=layout_inverted(1.0 - g, region)).inverted
            kept += not a
            caught += b
            if files is not knees or a:
                print(f"{f.name:40s} original flagged inverted: {a!s:5s}  inverted copy flagged: {b}")
        print(f"POLARITY {name}: {len(files)} images; originals left as they are {kept}/{len(files)}; "
              f"inverted copies recognised {caught}/{len(files)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
