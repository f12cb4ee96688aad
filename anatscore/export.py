"""Files of a run folder, exported from the run store (the database is the record of truth).

``checks.csv``   one row per (image, check): image_id, path, check, value, passed, reason, extra
``images.csv``   one row per image: metadata, sha256, load status/reason, inferred fields,
                 one column per headline check, n_checks, n_failed, failed_checks
``metrics.json`` set-level metrics (``RunMetrics.result()``)
``run.json``     the run manifest (versions, device, resolved config, weights, counts, times)
``refusals.csv`` refused generations per backend and prompt category (:mod:`anatscore.refusals`)
``report.html``  self-contained human report: counts, per-check pass rates, refusals, set-level
                 metrics, least realistic images, failing images

``passed`` is written ``true`` / ``false`` / empty (not applicable). Every file is written to a
temporary name and renamed, so a killed export never leaves a half-written file behind.
"""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path
from typing import Any, Iterable, Optional

from . import refusals as refusal_stats
from .store import RunStore, dumps

RUN_FILES = ("checks.csv", "images.csv", "metrics.json", "refusals.csv", "run.json", "report.html")


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _tf(v: Any) -> str:
    return "" if v is None else ("true" if v else "false")


def write_run_json(run_dir: Path, manifest: dict[str, Any]) -> None:
    _atomic_write(run_dir / "run.json", json.dumps(json.loads(dumps(manifest)), indent=2) + "\n")


def export_run(store: RunStore, run_dir: Path, checks: Any, images: Any, headline: Iterable[str],
               manifest: dict[str, Any], metrics: dict[str, Any],
               refusals: Optional[list[dict[str, Any]]] = None) -> None:
    """Write every file of :data:`RUN_FILES` into ``run_dir``.

    ``checks`` and ``images`` are :meth:`RunStore.checks_frame` / :meth:`RunStore.images_frame`
    (passed in so a caller that also returns them reads the database once); ``refusals`` the
    :func:`anatscore.refusals.summarise` rows of ``images`` (computed here when None).
    """
    if refusals is None:
        refusals = refusal_summary(images)
    run_dir.mkdir(parents=True, exist_ok=True)
    out = checks.copy()
    out["passed"] = out["passed"].map(_tf)
    _atomic_write(run_dir / "checks.csv", out.to_csv(index=False))
    img = images.copy()
    for name in list(headline) + ["refused"]:
        img[name] = img[name].map(_tf)
    _atomic_write(run_dir / "images.csv", img.to_csv(index=False))
    _atomic_write(run_dir / "metrics.json", json.dumps(json.loads(dumps(metrics)), indent=2) + "\n")
    _atomic_write(run_dir / "refusals.csv", refusal_stats.to_csv(refusals))
    write_run_json(run_dir, manifest)
    from .metrics.realism import least_realistic

    worst = least_realistic(run_dir, k=5, per_stratum=True)  # empty without --reference
    _atomic_write(run_dir / "report.html",
                  render_report(store, checks, manifest, images, metrics, refusals, unrealistic=worst))


def refusal_summary(images: Any) -> list[dict[str, Any]]:
    """:func:`anatscore.refusals.summarise` over a run's images frame (every record is one
    generation attempt; refused ones have ``refused`` true)."""
    if images is None or len(images) == 0:
        return []
    return refusal_stats.summarise(images[["prompt", "backend", "refused"]].to_dict("records"))


def refusals_section(rows: Optional[list[dict[str, Any]]]) -> str:
    """HTML for the refusal table; empty when nothing in the run was refused."""
    if not rows or not any(r["refused"] for r in rows):
        return ""
    body = [[r["backend"] or "(none)", r["category"], f"{r['refused']} / {r['attempts']}",
             _fmt_rate(r["refusal_rate"]), f"{r['prompts_refused']} / {r['prompts']}",
             ", ".join(f"{k} x{v}" for k, v in r["refused_terms"].items()),
             " | ".join(r["examples"])] for r in rows]
    return ("<h2>Refused generations</h2><p>Manifest rows with <code>refused=true</code> (the backend's "
            "content filter declined; not scored, not failures), per backend and prompt category "
            "(<code>all</code> = every attempt of that backend; a prompt can fall in several "
            "categories). Attempts = manifest rows; prompts = distinct prompt texts, refused when any "
            "attempt was. Also in <code>refusals.csv</code>.</p>"
            + _table(body, ["backend", "category", "refused / attempts", "rate", "prompts refused",
                            "refused terms", "examples"]))


def _fmt_rate(v: Any) -> str:
    return "" if v is None or v != v else f"{100 * float(v):.1f}%"


def _table(rows: list[list[Any]], head: list[str], raw_cols: tuple[int, ...] = ()) -> str:
    """An HTML table; cells are escaped except the columns in ``raw_cols`` (pre-built HTML)."""
    esc = html.escape
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{c if i in raw_cols else esc(str(c))}</td>" for i, c in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def backend_pass_rates(checks: Any, images: Any) -> Any:
    """Pass rate (passed / judged) per check and backend: a DataFrame indexed by check.

    Rows whose ``passed`` is empty (not applicable, errors) are excluded.
    """
    import pandas as pd

    judged = checks[checks["passed"].map(lambda v: v is not None).astype(bool)].copy()
    if judged.empty:
        return pd.DataFrame()
    backend = images.set_index("image_id")["backend"].replace("", "(none)")
    judged["backend"] = judged["image_id"].map(backend).fillna("(none)")
    judged["ok"] = judged["passed"].map(bool).astype(float)
    return judged.pivot_table(index="check", columns="backend", values="ok", aggfunc="mean", sort=False)


def metrics_section(metrics: Optional[dict[str, Any]]) -> str:
    """HTML for the set-level metrics: one row per stratum, ``value [ci_low, ci_high]`` per metric.

    Reads the ``metrics.json`` shape (``strata: [{<fields>, n, metrics: {name: {value, ci_low,
    ci_high, warning}}}]``); anything else is skipped, the file itself stays the reference.
    """
    strata = (metrics or {}).get("strata") or []
    strata = [s for s in strata if isinstance(s, dict) and isinstance(s.get("metrics"), dict)]
    if not strata:
        return ""
    fields = [f for f in ("backend", "modality", "region", "view", "task", "n", "n_reference")
              if any(f in s for s in strata)]
    names = sorted({m for s in strata for m in s["metrics"]})

    def cell(m: Any) -> str:
        if not isinstance(m, dict) or m.get("value") is None:
            return ""
        txt = f"{m['value']:.4g}" if isinstance(m["value"], (int, float)) else str(m["value"])
        if isinstance(m.get("ci_low"), (int, float)) and isinstance(m.get("ci_high"), (int, float)):
            txt += f" [{m['ci_low']:.4g}, {m['ci_high']:.4g}]"
        return txt

    rows = [[s.get(f, "") for f in fields] + [cell(s["metrics"].get(n)) for n in names] for s in strata]
    notes = [str(n) for n in (metrics or {}).get("notes", [])]
    notes += sorted({str(s["note"]) for s in strata if s.get("note")})
    extra = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return ("<h2>Set-level metrics</h2><p>value [ci_low, ci_high] per stratum (intervals as the metrics "
            "compute them, see their notes); details in <code>metrics.json</code>.</p>"
            + _table(rows, fields + names) + (f"<ul>{extra}</ul>" if extra else ""))


def realism_section(rows: Optional[list[Any]], thumbs: dict[str, bytes]) -> str:
    """HTML for the least realistic images per stratum (:func:`anatscore.metrics.realism.least_realistic`
    rows); empty when the run computed no per-image realism scores."""
    if not rows:
        return ""
    body = []
    for w in rows:
        png = thumbs.get(w.image_id)
        img = f'<img alt="" src="data:image/png;base64,{base64.b64encode(png).decode()}">' if png else ""
        stratum = ", ".join(f"{k}={v}" for k, v in w.stratum.items() if v)
        body.append([img, html.escape(w.image_id), html.escape(stratum or "(all)"), w.extractor,
                     f"{w.realism:.3f}", f"{w.knn_distance:.4g}", w.rank_in_stratum])
    return ("<h2>Least realistic images</h2><p>Per stratum, the generated images with the lowest realism "
            "score (Kynkäänniemi et al.: below 1 = outside every real image's k-NN ball) and their "
            "distance to the k-th nearest reference image; all scores in <code>realism.csv</code>.</p>"
            + _table(body, ["", "image", "stratum", "features", "realism", "k-NN distance", "rank"],
                     raw_cols=(0,)))


def not_applicable_reasons(checks: Any) -> dict[str, str]:
    """Per check, the most frequent reason among its not-applicable rows with its count
    (``"applies to region hand, image is knee (98 rows)"``); weight hints are cut at the cache path."""
    na = checks[checks["passed"].map(lambda v: v is None).astype(bool)
                & ~checks["reason"].astype(str).str.startswith("check error:")]
    out: dict[str, str] = {}
    for name, grp in na.groupby("check", sort=False):
        counts = grp["reason"].astype(str).value_counts()
        reason, n = str(counts.index[0]), int(counts.iloc[0])
        short = reason.split(" (cache:")[0].split("; run `")[0]
        short = short if len(short) <= 140 else short[:137] + "..."
        out[str(name)] = f"{short} ({n} rows)" if n < len(grp) else short
    return out


def run_settings(cfg: dict[str, Any]) -> str:
    """HTML lines for the settings that change what is measured: --set metadata and --option values."""
    esc = html.escape
    parts = []
    if cfg.get("defaults"):
        parts.append("metadata set for images without their own (<code>--set</code>): "
                     + ", ".join(f"<code>{esc(k)}={esc(str(v))}</code>" for k, v in cfg["defaults"].items()))
    opts = [f"<code>{esc(ns)}.{esc(k)}={esc(json.dumps(v))}</code>"
            for ns, kv in (cfg.get("options") or {}).items() if isinstance(kv, dict) for k, v in kv.items()]
    if opts:
        parts.append("check options (<code>--option</code>): " + ", ".join(opts))
    return "".join(f"<p>{p}.</p>" for p in parts)


def render_report(store: RunStore, checks: Any, manifest: dict[str, Any], images: Any = None,
                  metrics: Optional[dict[str, Any]] = None,
                  refusals: Optional[list[dict[str, Any]]] = None,
                  unrealistic: Optional[list[Any]] = None) -> str:
    """A self-contained HTML report (no scripts, no external resources; thumbnails inline)."""
    esc = html.escape
    counts = manifest.get("counts", {})
    rates = store.pass_rates().fillna({"passed": 0, "failed": 0, "not_applicable": 0, "errors": 0})
    why_na = not_applicable_reasons(checks)
    rate_rows = [
        [r["check"], int(r["n"]), int(r["passed"]), int(r["failed"]), int(r["not_applicable"]), int(r["errors"]),
         _fmt_rate(r["pass_rate"]), why_na.get(r["check"], "")]
        for _, r in rates.iterrows()
    ]
    by_backend = ""
    if images is not None:
        piv = backend_pass_rates(checks, images)
        if not piv.empty and len(piv.columns) > 1:
            rows = [[name] + [_fmt_rate(v) for v in row] for name, row in piv.iterrows()]
            by_backend = ("<h2>Pass rate by backend</h2><p>passed / judged; empty where no image of that "
                          "backend was judged.</p>" + _table(rows, ["check"] + [str(c) for c in piv.columns]))

    thumbs = store.thumbnails()
    failing = checks[checks["passed"].map(lambda v: v is False).astype(bool)]
    fail_rows = []
    for (image_id, path), grp in failing.groupby(["image_id", "path"], sort=False):
        png = thumbs.get(image_id)
        img = (f'<img alt="" src="data:image/png;base64,{base64.b64encode(png).decode()}">' if png else "")
        why = "<br>".join(f"<b>{esc(r['check'])}</b>: {esc(str(r['reason']))}" for _, r in grp.iterrows())
        fail_rows.append([img, esc(str(path)), why])
    errors = checks[checks["reason"].str.startswith("check error:")]
    err_rows = [[r["path"], r["check"], r["reason"]] for _, r in errors.iterrows()]
    summary = [[k, v] for k, v in counts.items()]
    cfg = manifest.get("config", {})
    dev = manifest.get("device", {})
    device = dev.get("resolved") or dev.get("requested", "") if isinstance(dev, dict) else dev
    settings = run_settings(cfg)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>anatscore run {esc(str(manifest.get('run_id', '')))}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }}
th {{ background: #f0f0f0; }} code {{ background: #f5f5f5; padding: 0 0.2em; }}
img {{ max-width: 128px; max-height: 128px; }}
</style></head><body>
<h1>anatscore run <code>{esc(str(manifest.get('run_id', '')))}</code></h1>
<p>Input: <code>{esc(str(manifest.get('input_dir', '')))}</code>; started {esc(str(manifest.get('started', '')))},
finished {esc(str(manifest.get('finished', '')))}; anatscore {esc(str(manifest.get('anatscore_version', '')))};
device {esc(str(device))}; checks selected: {esc(', '.join(cfg.get('checks', [])) or 'all')}.</p>
{settings}
<h2>Summary</h2>{_table(summary, ['', 'count'])}
<h2>Pass rates per check</h2>
<p>pass rate = passed / (passed + failed); not-applicable rows and check errors are excluded.</p>
{_table(rate_rows, ['check', 'rows', 'passed', 'failed', 'not applicable', 'errors', 'pass rate',
                    'most common reason not applicable'])}
{by_backend}
{refusals_section(refusals)}
{metrics_section(metrics)}
{realism_section(unrealistic, thumbs)}
<h2>Failing images ({len(fail_rows)} images, {len(failing)} failed checks)</h2>
{_table(fail_rows, ['', 'path', 'failed checks'], raw_cols=(0, 1, 2)) if fail_rows else '<p>none</p>'}
<h2>Check errors ({len(err_rows)})</h2>
<p>A check error is an anatscore bug, not a property of the image; see the log for tracebacks.</p>
{_table(err_rows, ['path', 'check', 'reason']) if err_rows else '<p>none</p>'}
<p>Full tables: <code>checks.csv</code>, <code>images.csv</code>, <code>refusals.csv</code>;
set-level metrics: <code>metrics.json</code>;
manifest: <code>run.json</code>.</p>
</body></html>
"""
