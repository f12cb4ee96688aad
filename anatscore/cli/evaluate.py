"""`anatscore evaluate DIR`: score every image under DIR and write a run folder."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from . import EXIT_NOTHING_SCORED, EXIT_OK, EXIT_USAGE

EXIT_INTERRUPTED = 130  # the shell's convention for SIGINT


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser(
        "evaluate",
        help="score every image under a folder and write a run folder",
        description="Score every image under DIR (recursively) and write RUN_DIR with checks.csv, "
        "images.csv, metrics.json, run.json, report.html and the SQLite store.",
    )
    p.add_argument("dir", nargs="?", metavar="DIR", help="folder of images (optional with --resume)")
    p.add_argument("--out", metavar="RUN_DIR", help="run folder to create (default: anatscore-runs/<timestamp>)")
    p.add_argument("--reference", metavar="REF", help="reference set of real images for set-level metrics")
    from ..registry import EXTRACTORS

    p.add_argument("--extractors", nargs="+", metavar="NAME", default=None, choices=[e.name for e in EXTRACTORS],
                   help="feature extractors for the --reference metrics, e.g. inception radiomic "
                   "(default: inception; see `anatscore list metrics`)")
    p.add_argument("--checks", nargs="+", metavar="PATTERN", default=None,
                   help="glob patterns of check names (default: all; see `anatscore list checks`)")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary on stdout")
    p.add_argument("--resume", metavar="RUN_DIR", help="finish an interrupted run (kept records are not redone)")
    p.add_argument("--db", metavar="PATH", help="SQLite database shared by several runs (default: in RUN_DIR)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="threads for decoding and for per-image checks (default 0: all in the main thread)")
    p.add_argument("--batch-size", type=int, default=None, metavar="N", help="images per batch (default 16)")
    p.add_argument("--device", choices=("cpu", "cuda", "auto"), default=None, help="device for models (default auto)")
    p.add_argument("--manifest", metavar="FILE", help="manifest.csv/.jsonl kept outside DIR (paths relative to DIR; "
                   "default: DIR/manifest.csv or DIR/manifest.jsonl)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", dest="set_fields",
                   help="metadata for every image that does not carry its own (manifest, sidecar, PNG text), "
                   "repeatable: modality, region, view, task, prompt, backend, seed (e.g. --set modality=xray "
                   "--set region=knee)")
    p.add_argument("--option", action="append", default=[], metavar="CHECK.KEY=VALUE",
                   help="a per-check option, repeatable (VALUE parsed as JSON when it parses, else a string), "
                   "e.g. classify.backend=gallery, xrv.pathology.normal_reference=DIR; "
                   "see `anatscore list options`")
    p.set_defaults(func=run)


def summary(result: Any) -> dict[str, Any]:
    """The ``--json`` document: counts, run folder, per-check pass rates."""
    from ..export import not_applicable_reasons

    checks = result.checks
    why_na = not_applicable_reasons(checks)
    rates: dict[str, Any] = {}
    for name, grp in checks.groupby("check", sort=False):
        judged = grp["passed"].map(lambda v: v is not None)
        passed = int(grp["passed"].map(lambda v: v is True).sum())
        n = int(judged.sum())
        rates[str(name)] = {"rows": int(len(grp)), "judged": n, "passed": passed, "failed": n - passed,
                            "pass_rate": (passed / n) if n else None,
                            "not_applicable_reason": why_na.get(str(name), "")}
    images = result.images
    flagged = int((images["n_failed"] > 0).sum()) if "n_failed" in images else 0
    no_verdict = 0
    if "n_checks" in images and "load_status" in images:
        no_verdict = int(((images["load_status"] == "ok") & (images["n_checks"] == 0)).sum())
    return {
        "run_id": result.manifest["run_id"],
        "images_with_failed_checks": flagged,
        "images_without_verdict": no_verdict,
        "run_dir": str(result.run_dir) if result.run_dir is not None else None,
        "report": str(result.run_dir / "report.html") if result.run_dir is not None else None,
        "counts": result.counts,
        "checks": rates,
        "refusals": result.manifest.get("refusals", []),
        "exit_code": result.exit_code,
    }


def _config(args: argparse.Namespace) -> Any:
    """An EvalConfig carrying ``--extractors`` (None: the library's defaults)."""
    from ..config import EvalConfig

    return EvalConfig(extractors=tuple(args.extractors)) if args.extractors else None


def run(args: argparse.Namespace) -> int:
    from ..api import ResumeError, RunExistsError, default_run_dir, evaluate

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="anatscore: %(levelname)s: %(message)s")
    if args.dir is None and args.resume is None:
        print("anatscore evaluate: give DIR (or --resume RUN_DIR)", file=sys.stderr)
        return EXIT_USAGE
    if args.resume is not None and args.out is not None:
        print("anatscore evaluate: --out and --resume are exclusive (--resume writes into its RUN_DIR)",
              file=sys.stderr)
        return EXIT_USAGE
    if args.resume is not None and args.extractors:
        print("anatscore evaluate: --extractors is not used with --resume (the run keeps its own extractors)",
              file=sys.stderr)
        return EXIT_USAGE
    for opt in ("workers", "batch_size"):
        v = getattr(args, opt)
        if v is not None and v < (0 if opt == "workers" else 1):
            print(f"anatscore evaluate: --{opt.replace('_', '-')} must be >= {0 if opt == 'workers' else 1}",
                  file=sys.stderr)
            return EXIT_USAGE
    from ..options import OptionError, parse_options, unknown_options
    from ..registry import CHECKS

    try:
        options = parse_options(args.option) if args.option else None
    except OptionError as exc:
        print(f"anatscore evaluate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for note in unknown_options(options or {}, (s.name for s in CHECKS)):
        logging.getLogger("anatscore").warning("%s", note)
    fields: dict[str, str] = {}
    for text in args.set_fields:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            print(f"anatscore evaluate: --set {text!r} is not FIELD=VALUE (e.g. --set region=knee)", file=sys.stderr)
            return EXIT_USAGE
        fields[key.strip().lower()] = value.strip()
    out = None if args.resume is not None else (args.out or default_run_dir())
    try:
        result = evaluate(
            args.dir, manifest=args.manifest, checks=args.checks, reference=args.reference, out=out, db=args.db,
            resume=args.resume, workers=args.workers, batch_size=args.batch_size, device=args.device,
            options=options, config=_config(args), progress=not args.json, **fields,
        )
    except (RunExistsError, ResumeError, FileNotFoundError, ValueError) as exc:
        print(f"anatscore evaluate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        where = args.resume or out
        print(f"\nanatscore evaluate: interrupted; committed batches are kept. Finish with: "
              f"anatscore evaluate --resume {where}", file=sys.stderr)
        return EXIT_INTERRUPTED
    doc = summary(result)
    c = result.counts
    line = (f"anatscore: {c.get('images', 0)} images: {c.get('scored', 0)} scored "
            f"({doc['images_with_failed_checks']} with a failed check, {doc['images_without_verdict']} "
            f"with no check that applied), {c.get('failed', 0)} failed to load, "
            f"{c.get('refused', 0)} refused, {c.get('check_errors', 0)} check errors; run folder {result.run_dir}")
    if not c.get("images"):
        print(f"anatscore evaluate: no images found under {result.manifest.get('input_dir') or args.dir}",
              file=sys.stderr)
    if doc["images_without_verdict"]:
        print(f"anatscore evaluate: no check applied to {doc['images_without_verdict']} of {c.get('scored', 0)} "
              "scored images (see their reasons in checks.csv): most checks need the image's modality and "
              "region (a manifest, or --set modality=xray --set region=knee) and some need model weights "
              "(`anatscore list models`)", file=sys.stderr)
    if args.json:
        print(json.dumps(doc, indent=2))
        print(line, file=sys.stderr)
    else:
        print(line)
        print(f"report: {result.run_dir / 'report.html'}")
    return EXIT_OK if result.exit_code == 0 else EXIT_NOTHING_SCORED
