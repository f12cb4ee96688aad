"""`anatscore reference build REF_DIR --out REF.npz` and `anatscore reference info REF.npz`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("reference", help="featurise a folder of real images once for realism metrics")
    rsub = p.add_subparsers(dest="reference_command", metavar="ACTION")
    b = rsub.add_parser("build", help="featurise REF_DIR and write a reference file (.npz)")
    b.add_argument("ref_dir", metavar="REF_DIR")
    b.add_argument("--out", required=True, help="reference file to write (atomically)")
    b.add_argument("--extractors", nargs="+", default=["inception"], help="feature extractors (see `anatscore list`)")
    b.add_argument("--device", default="auto", help="cpu, cuda or auto")
    b.add_argument("--batch-size", type=int, default=16)
    b.add_argument("--modality", default="", help="modality of every image (when the folder does not say)")
    b.add_argument("--region", default="", help="region of every image (when the folder does not say)")
    b.add_argument("--view", default="", help="view of every image (when the folder does not say)")
    b.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="EXTRACTOR.KEY=VALUE",
        help="extractor option, e.g. inception.weights=/path/file.pth or inception.resize=pytorch-fid",
    )
    b.add_argument("--json", action="store_true", help="print a machine-readable summary on stdout")
    b.set_defaults(func=run)
    i = rsub.add_parser("info", help="describe a built reference file")
    i.add_argument("file")
    i.set_defaults(func=run)
    p.set_defaults(func=run)


def parse_options(items: list[str]) -> dict[str, dict[str, Any]]:
    """``["inception.resize=clean"]`` -> ``{"inception": {"resize": "clean"}}``."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        ex, dot, opt = key.partition(".")
        if not sep or not dot or not ex or not opt:
            raise SystemExit(f"--option {item!r}: expected EXTRACTOR.KEY=VALUE")
        out.setdefault(ex, {})[opt] = value
    return out


def run(args: argparse.Namespace) -> int:
    from ..config import EvalConfig
    from ..features import build_extractor
    from ..metrics.reference import ReferenceSet, build_reference

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    action = getattr(args, "reference_command", None)
    if action == "info":
        ref = ReferenceSet.load(args.file)
        summary = {
            "file": args.file,
            "n": len(ref),
            "extractors": {k: {"dim": int(v.shape[1]), "identity": ref.identities[k]} for k, v in ref.features.items()},
            "skipped": ref.skipped,
        }
        print(json.dumps(summary, indent=1))
        return 0
    if action != "build":
        print("usage: anatscore reference build REF_DIR --out REF.npz | anatscore reference info REF.npz", file=sys.stderr)
        return 2
    device = EvalConfig(device=args.device).resolved_device()
    opts = parse_options(args.option)
    exs = [build_extractor(name, device=device, batch_size=args.batch_size, **opts.get(name, {})) for name in args.extractors]
    overrides = {"modality": args.modality, "region": args.region, "view": args.view}
    ref = build_reference(args.ref_dir, args.out, exs, overrides, args.batch_size)
    summary = {"out": args.out, "n": len(ref), "extractors": sorted(ref.features), "skipped": len(ref.skipped)}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"wrote {args.out}: {len(ref)} images, extractors {', '.join(sorted(ref.features))}, {len(ref.skipped)} skipped")
    return 0
