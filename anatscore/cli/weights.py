"""`anatscore weights list|show|download|import|verify`: the weights manager from the shell."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser(
        "weights",
        help="list, download, import (air-gapped) and verify pretrained weights",
        description="Pretrained weights used by anatscore. Cache: $ANATSCORE_HOME/weights "
                    "(platform cache dir by default).",
    )
    wsub = p.add_subparsers(dest="weights_command", metavar="ACTION")
    pl = wsub.add_parser("list", help="every weights record and whether it is installed")
    pl.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    pl.set_defaults(func=_list)
    ps = wsub.add_parser("show", help="one record in full (sources, hashes, preprocessing contract)")
    ps.add_argument("name")
    ps.add_argument("--json", action="store_true")
    ps.set_defaults(func=_show)
    pd = wsub.add_parser("download", help="download, verify and cache a record's file")
    pd.add_argument("name")
    pd.add_argument("--url", help="download from this URL (a mirror, or file://) instead of the record's")
    pd.add_argument("--trust-pickle", action="store_true",
                    help="with --url: allow unpickling a whole pickled model whose hash the record does not pin")
    pd.add_argument("--json", action="store_true")
    pd.set_defaults(func=_download)
    pi = wsub.add_parser("import", help="install a file obtained elsewhere (air-gapped machines)")
    pi.add_argument("name")
    pi.add_argument("file", help="the weights file (a folder for folder records such as biomedclip)")
    pi.add_argument("--trust-pickle", action="store_true",
                    help="allow unpickling a whole pickled model whose hash the record does not pin")
    pi.add_argument("--json", action="store_true")
    pi.set_defaults(func=_import)
    pv = wsub.add_parser("verify", help="re-hash every cached file (exit 1 if any is corrupt)")
    pv.add_argument("names", nargs="*", help="records to verify (default: all)")
    pv.add_argument("--json", action="store_true")
    pv.set_defaults(func=_verify)
    p.set_defaults(func=lambda args: _usage(p))


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Entry point kept for callers of the skeleton's interface."""
    return int(args.func(args) or 0)


def _guard(fn: Any) -> Any:
    """Turn weights errors into one line on stderr and exit status 1 (no stack trace)."""

    def wrapped(args: argparse.Namespace) -> int:
        from ..weights import WeightsError

        try:
            return int(fn(args) or 0)
        except WeightsError as exc:
            print(f"anatscore weights: {exc}", file=sys.stderr)
            return 1

    return wrapped


@_guard
def _list(args: argparse.Namespace) -> int:
    from .. import weights

    rows = []
    for name, rec in sorted(weights.records().items()):
        info = weights.installed(name) or {}
        pinned = [v.main.sha256 for v in rec.variants if v.main.sha256 != weights.UNKNOWN]
        rows.append({
            "name": name, "installed": bool(info), "variant": info.get("variant", ""),
            "sha256": info.get("sha256") or (pinned[0] if pinned else weights.UNKNOWN),
            "size": info.get("size"), "licence": rec.licence, "summary": rec.summary,
            "urls": list(rec.urls), "arch_check": info.get("arch_check", ""),
        })
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        print()
        return 0
    width = max(len(r["name"]) for r in rows) if rows else 10
    for r in rows:
        mark = f"installed ({r['variant']}, sha256 {r['sha256'][:12]})" if r["installed"] else "not installed"
        print(f"{r['name']:<{width}}  {mark}\n{'':<{width}}  {r['summary']}")
    print(f"\ncache: {weights.paths.weights_dir()}", file=sys.stderr)
    return 0


@_guard
def _show(args: argparse.Namespace) -> int:
    import dataclasses

    from .. import weights

    rec = weights.get_record(args.name)
    data = dataclasses.asdict(rec)
    data["installed"] = weights.installed(args.name)
    if args.json:
        json.dump(data, sys.stdout, indent=2)
        print()
    else:
        for k, v in data.items():
            print(f"{k}: {json.dumps(v) if not isinstance(v, str) else v}")
    return 0


def _report(info: dict[str, Any], args: argparse.Namespace, verb: str) -> int:
    if args.json:
        json.dump(info, sys.stdout, indent=2)
        print()
    else:
        print(f"{verb} {info['name']} ({info['variant']}): sha256 {info['sha256']}; "
              f"architecture check: {info['arch_check']}")
    return 0


@_guard
def _download(args: argparse.Namespace) -> int:
    from .. import weights

    info = weights.download(args.name, url=args.url, progress=sys.stderr.isatty(),
                            trust_pickle=args.trust_pickle)
    return _report(info, args, "downloaded")


@_guard
def _import(args: argparse.Namespace) -> int:
    from .. import weights

    info = weights.import_file(args.name, args.file, trust_pickle=args.trust_pickle)
    return _report(info, args, "imported")


@_guard
def _verify(args: argparse.Namespace) -> int:
    from .. import weights

    results = weights.verify(args.names or None)
    if args.json:
        json.dump([r.__dict__ for r in results], sys.stdout, indent=2)
        print()
    else:
        for r in results:
            print(f"{r.name:<28} {r.status:<8} {r.detail}")
    installed = [r for r in results if r.status != "missing"]
    bad = [r for r in results if r.status == "corrupt"]
    print(f"{len(installed)} installed, {len(bad)} corrupt, {len(results) - len(installed)} not installed",
          file=sys.stderr)
    return 1 if bad else 0
