"""`anatscore demo [--out DIR]`: build the offline demo set, evaluate it, print where the report is."""

from __future__ import annotations

import argparse
import logging
import sys

from . import EXIT_NOTHING_SCORED, EXIT_OK, EXIT_USAGE


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser(
        "demo",
        help="build a demo folder from DICOM files shipped with pydicom and evaluate it",
        description="Build a small demo folder (DICOM radiographs, CT, MR, ultrasound shipped inside pydicom / "
        "pydicom-data, plus mirrored, film-photo, multi-panel and broken variants), evaluate it and write "
        "a run folder with report.html. Works offline.",
    )
    p.add_argument("--out", metavar="DIR", help="where to build it (default: anatscore-demo/<timestamp>)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..api import RunExistsError
    from ..demo import run_demo

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="anatscore: %(levelname)s: %(message)s")
    try:
        result = run_demo(args.out, progress=True)
    except (RunExistsError, FileNotFoundError) as exc:
        print(f"anatscore demo: {exc}", file=sys.stderr)
        return EXIT_USAGE
    c = result.counts
    print(f"anatscore demo: {c.get('images', 0)} images: {c.get('scored', 0)} scored, "
          f"{c.get('failed', 0)} failed to load (the bad inputs are deliberate)")
    print(f"demo images: {result.run_dir.parent / 'images'}")
    print(f"run folder:  {result.run_dir}")
    print(f"report:      {result.run_dir / 'report.html'}")
    return EXIT_OK if result.exit_code == 0 else EXIT_NOTHING_SCORED
