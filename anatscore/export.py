"""Files of a run folder, exported from the run store (the database is the record of truth).

``checks.csv``   one row per (image, check): image_id, path, check, value, passed, reason, extra
``images.csv``   one row per image: metadata, sha256, load status/reason, inferred fields,
                 one column per headline check, n_checks, n_failed, failed_checks
``metrics.json`` set-level metrics (``RunMetrics.result()``)
``run.json``     the run manifest (versions, device, resolved config, weights, counts, times)
``report.html``  self-contained human report: counts, per-check pass rates, failing images

``passed`` is written ``true`` / ``false`` / empty (not applicable). Every file is written to a
temporary name and renamed, so a killed export never leaves a half-written file behind.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any, Iterable

from .store import RunStore, dumps

RUN_FILES = ("checks.csv", "images.csv", "metrics.json", "run.json", "report.html")


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _tf(v: Any) -> str:
    return "" if v is None else ("true" if v else "false")


def write_run_json(run_dir: Path, manifest: dict[str, Any]) -> None:
    _atomic_write(run_dir / "run.json", json.dumps(json.loads(dumps(manifest)), indent=2) + "\n")


def export_run(store: RunStore, run_dir: Path, checks: Any, images: Any, headline: Iterable[str],
               manifest: dict[str, Any], metrics: dict[str, Any]) -> None:
    """Write every file of :data:`RUN_FILES` into ``run_dir``.

    ``checks`` and ``images`` are :meth:`RunStore.checks_frame` / :meth:`RunStore.images_frame`
    (passed in so a caller that also returns them reads the database once).
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    out = checks.copy()
    out["passed"] = out["passed"].map(_tf)
    _atomic_write(run_dir / "checks.csv", out.to_csv(index=False))
    img = images.copy()
    for name in list(headline) + ["refused"]:
        img[name] = img[name].map(_tf)
    _atomic_write(run_dir / "images.csv", img.to_csv(index=False))
    _atomic_write(run_dir / "metrics.json", json.dumps(json.loads(dumps(metrics)), indent=2) + "\n")
    write_run_json(run_dir, manifest)
    _atomic_write(run_dir / "report.html", render_report(store, checks, manifest))


def render_report(store: RunStore, checks: Any, manifest: dict[str, Any]) -> str:
    """A self-contained HTML report (no scripts, no external resources)."""
    esc = html.escape
    counts = manifest.get("counts", {})
    rates = store.pass_rates()
    failing = checks[checks["passed"].map(lambda v: v is False)]
    errors = checks[checks["reason"].str.startswith("check error:")]

    def table(rows: list[list[Any]], head: list[str]) -> str:
        th = "".join(f"<th>{esc(h)}</th>" for h in head)
        body = "".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in r) + "</tr>" for r in rows)
        return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"

    rates = rates.fillna({"passed": 0, "failed": 0, "not_applicable": 0, "errors": 0})
    rate_rows = [
        [r["check"], int(r["n"]), int(r["passed"]), int(r["failed"]), int(r["not_applicable"]), int(r["errors"]),
         "" if r["pass_rate"] != r["pass_rate"] or r["pass_rate"] is None else f"{100 * r['pass_rate']:.1f}%"]
        for _, r in rates.iterrows()
    ]
    fail_rows = [[r["path"], r["check"], "" if r["value"] != r["value"] else r["value"], r["reason"]]
                 for _, r in failing.iterrows()]
    err_rows = [[r["path"], r["check"], r["reason"]] for _, r in errors.iterrows()]
    summary = [[k, v] for k, v in counts.items()]
    cfg = manifest.get("config", {})
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>anatscore run {esc(str(manifest.get('run_id', '')))}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }}
th {{ background: #f0f0f0; }} code {{ background: #f5f5f5; padding: 0 0.2em; }}
</style></head><body>
<h1>anatscore run <code>{esc(str(manifest.get('run_id', '')))}</code></h1>
<p>Input: <code>{esc(str(manifest.get('input_dir', '')))}</code>; started {esc(str(manifest.get('started', '')))},
finished {esc(str(manifest.get('finished', '')))}; anatscore {esc(str(manifest.get('anatscore_version', '')))};
device {esc(str(manifest.get('device', '')))}; checks selected: {esc(', '.join(cfg.get('checks', [])) or 'all')}.</p>
<h2>Summary</h2>{table(summary, ['images', 'count'])}
<h2>Pass rates per check</h2>
<p>pass rate = passed / (passed + failed); not-applicable rows are excluded.</p>
{table(rate_rows, ['check', 'rows', 'passed', 'failed', 'not applicable', 'errors', 'pass rate'])}
<h2>Failing images ({len(fail_rows)} failed checks)</h2>
{table(fail_rows, ['path', 'check', 'value', 'reason']) if fail_rows else '<p>none</p>'}
<h2>Check errors ({len(err_rows)})</h2>
<p>A check error is an anatscore bug, not a property of the image; see the log for tracebacks.</p>
{table(err_rows, ['path', 'check', 'reason']) if err_rows else '<p>none</p>'}
<p>Full tables: <code>checks.csv</code>, <code>images.csv</code>; set-level metrics: <code>metrics.json</code>;
manifest: <code>run.json</code>.</p>
</body></html>
"""
