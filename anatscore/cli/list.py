"""`anatscore list checks|metrics|models [--json]`: the registries and weight records."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("list", help="list registered checks, metrics, models or per-check options",
                       description="Print the registry: name, what it measures, where it applies, what it needs.")
    p.add_argument("what", choices=("checks", "metrics", "models", "options"))
    p.add_argument("--json", action="store_true", help="machine-readable list on stdout")
    p.set_defaults(func=run)


def check_rows() -> list[dict[str, Any]]:
    from ..registry import CHECKS

    return [
        {"name": s.name, "summary": s.summary, "group": s.group, "stage": s.stage,
         "regions": list(s.regions), "modalities": list(s.modalities), "tasks": list(s.tasks),
         "views": list(s.views), "needs": list(s.needs), "headline": s.headline, "batched": bool(s.batch_target)}
        for s in CHECKS
    ]


def metric_rows() -> list[dict[str, Any]]:
    from ..registry import EXTRACTORS, METRICS

    rows = [{"name": m.name, "kind": "metric", "summary": m.summary, "needs": list(m.needs)} for m in METRICS]
    rows += [{"name": e.name, "kind": "extractor", "summary": e.summary, "needs": list(e.needs), "dim": e.dim}
             for e in EXTRACTORS]
    return rows


def model_rows() -> list[dict[str, Any]]:
    """Weight records (``models/weights/*.json``) with the checks that need each."""
    from ..registry import CHECKS, EXTRACTORS

    records = _weight_records()
    users: dict[str, list[str]] = {}
    for s in CHECKS:
        for w in s.weights():
            users.setdefault(w, []).append(s.name)
    for e in EXTRACTORS:
        for n in e.needs:
            if n.startswith("weights:"):
                users.setdefault(n.split(":", 1)[1], []).append(f"extractor:{e.name}")
    rows = []
    for name in sorted(set(records) | set(users)):
        rec = records.get(name, {})
        rows.append({"name": name, "summary": rec.get("summary", ""), "licence": rec.get("licence", ""),
                     "installed": rec.get("installed", False), "used_by": users.get(name, []),
                     "record": bool(rec)})
    return rows


def _weight_records() -> dict[str, dict[str, Any]]:
    """Weight records by name as plain dicts (summary, licence, installed), via anatscore.weights."""
    from .. import weights

    out: dict[str, dict[str, Any]] = {}
    records = getattr(weights, "records", None)
    if records is None:  # a weights module without a record reader: nothing to list
        return out
    installed = getattr(weights, "installed", lambda name: None)
    for name, rec in records().items():
        out[name] = {"summary": getattr(rec, "summary", ""), "licence": getattr(rec, "licence", ""),
                     "installed": installed(name) is not None}
    return out


def option_rows() -> list[dict[str, Any]]:
    """Per-check options the checks read (``--option NAMESPACE.KEY=VALUE``)."""
    from ..options import option_rows as rows

    return list(rows())


_ROWS = {"checks": check_rows, "metrics": metric_rows, "models": model_rows, "options": option_rows}
_COLUMNS = {
    "checks": ("name", "summary", "modalities", "regions", "needs"),
    "metrics": ("name", "kind", "summary", "needs"),
    "models": ("name", "installed", "licence", "used_by", "summary"),
    "options": ("option", "default", "summary"),
}


#: What an empty list means in each column of the text table.
_EMPTY = {"regions": "any", "modalities": "any", "needs": "-", "used_by": "-"}
_MAX_WIDTH = 60


def _cell(col: str, v: Any) -> str:
    text = (",".join(map(str, v)) or _EMPTY.get(col, "-")) if isinstance(v, list) else str(v)
    return text if len(text) <= _MAX_WIDTH or col == "summary" else text[: _MAX_WIDTH - 3] + "..."


def run(args: argparse.Namespace) -> int:
    rows = _ROWS[args.what]()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no {args.what} registered", file=sys.stderr)
        return 0
    cols = _COLUMNS[args.what]
    table = [[_cell(c, r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(c), *(len(t[i]) for t in table)) for i, c in enumerate(cols)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(cols, widths)).rstrip())
    for t in table:
        print("  ".join(v.ljust(w) for v, w in zip(t, widths)).rstrip())
    return 0
