"""Refusal / content-filter statistics per prompt category.

Generations the backend refused (manifest ``refused`` true; the image may not exist) are not
scored as images. They are counted here by prompt category (category phrases are data:
``anatscore/data/refusal_categories.json``) so that a report can say, per generator, which kinds
of prompt its content filter blocks, e.g. "haemorrhage: 7 of 8 attempts refused".

Rates are over *attempts* (one manifest row = one generation attempt) and, separately, over
*unique prompts* (a prompt counts as refused when any of its attempts was; rows without a prompt
are attempts but no prompt).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from .terms import find_terms, load_json
from .types import ImageMeta

CATEGORIES_FILE = Path(__file__).with_name("data") / "refusal_categories.json"
UNCATEGORISED = "uncategorised"
ALL = "all"


def categories(vocabulary: Mapping[str, list[str]] | None = None) -> dict[str, list[str]]:
    """Category -> phrases (the packaged data unless ``vocabulary`` is given)."""
    if vocabulary is not None:
        return {k: list(v) for k, v in vocabulary.items()}
    return {k: list(v) for k, v in load_json(str(CATEGORIES_FILE))["categories"].items()}


def prompt_categories(prompt: str, vocabulary: Mapping[str, list[str]] | None = None) -> dict[str, list[str]]:
    """Categories a prompt falls in, with the phrases that put it there (negations ignored:
    a filter that blocks "no haemorrhage" still blocked the word).

    >>> prompt_categories("CT of the head with an intracranial hemorrhage")
    {'haemorrhage': ['hemorrhage']}
    """
    out: dict[str, list[str]] = {}
    for h in find_terms(prompt, categories(vocabulary)):
        out.setdefault(h.label, [])
        if h.phrase not in out[h.label]:
            out[h.label].append(h.phrase)
    return out


@dataclass
class RefusalRow:
    """Refusal counts of one (backend, category)."""

    backend: str
    category: str
    attempts: int = 0
    refused: int = 0
    prompts: int = 0
    prompts_refused: int = 0
    refusal_rate: float = 0.0
    prompt_refusal_rate: float = 0.0
    refused_terms: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)


def _get(meta: Any, key: str, default: Any = "") -> Any:
    if isinstance(meta, Mapping):
        return meta.get(key, default)
    return getattr(meta, key, default)


def _truthy(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("1", "true", "yes", "y", "refused")
    return bool(v)


def summarise(metas: Iterable[ImageMeta | Mapping[str, Any]], by_backend: bool = True,
              vocabulary: Mapping[str, list[str]] | None = None, max_examples: int = 3) -> list[dict[str, Any]]:
    """Refusal counts per (backend, category), plus an ``all`` row per backend.

    Args:
        metas: image records (``ImageMeta`` or dicts with ``prompt``, ``refused``, ``backend``),
            refused or not: the non-refused ones are the denominator.
        by_backend: one block of rows per backend (else all backends pooled as ``"*"``).
        vocabulary: category phrases overriding the packaged data.
        max_examples: refused prompts quoted per row.

    Returns:
        Plain dicts (JSON/CSV-ready), sorted by backend then refusal rate (highest first), the
        ``all`` row of each backend first. Categories with no attempt are omitted.
    """
    attempts: dict[tuple[str, str], list[tuple[str, bool, list[str]]]] = defaultdict(list)
    for m in metas:
        backend = str(_get(m, "backend", "") or "") if by_backend else "*"
        prompt = str(_get(m, "prompt", "") or "")
        refused = _truthy(_get(m, "refused", False))
        cats = prompt_categories(prompt, vocabulary)
        attempts[(backend, ALL)].append((prompt, refused, [p for ps in cats.values() for p in ps]))
        for cat, phrases in (cats or {UNCATEGORISED: []}).items():
            attempts[(backend, cat)].append((prompt, refused, phrases))
    rows: list[RefusalRow] = []
    for (backend, cat), items in attempts.items():
        row = RefusalRow(backend=backend, category=cat, attempts=len(items))
        row.refused = sum(r for _, r, _ in items)
        by_prompt: dict[str, bool] = {}
        terms: dict[str, int] = defaultdict(int)
        for prompt, refused, phrases in items:
            if prompt:  # attempts without a prompt count as attempts, not as a (shared) empty prompt
                by_prompt[prompt] = by_prompt.get(prompt, False) or refused
            if refused:
                for p in phrases:
                    terms[p] += 1
                if prompt and prompt not in row.examples and len(row.examples) < max_examples:
                    row.examples.append(prompt)
        row.prompts = len(by_prompt)
        row.prompts_refused = sum(by_prompt.values())
        row.refusal_rate = row.refused / row.attempts
        row.prompt_refusal_rate = row.prompts_refused / row.prompts if row.prompts else 0.0
        row.refused_terms = dict(sorted(terms.items(), key=lambda kv: (-kv[1], kv[0])))
        rows.append(row)
    rows.sort(key=lambda r: (r.backend, r.category != ALL, -r.refusal_rate, r.category))
    return [asdict(r) for r in rows]


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of :func:`summarise` rows (for reports and the CLI)."""
    head = f"{'backend':<16} {'category':<16} {'refused':>9} {'rate':>6}  terms"
    lines = [head, "-" * len(head)]
    for r in rows:
        terms = ", ".join(f"{k} x{v}" for k, v in list(r["refused_terms"].items())[:4])
        lines.append(f"{r['backend'] or '-':<16} {r['category']:<16} {r['refused']:>4}/{r['attempts']:<4} "
                     f"{r['refusal_rate']:>6.0%}  {terms}")
    return "\n".join(lines)


#: Columns of ``refusals.csv`` (dict / list cells are JSON).
CSV_COLUMNS: tuple[str, ...] = ("backend", "category", "attempts", "refused", "refusal_rate", "prompts",
                                "prompts_refused", "prompt_refusal_rate", "refused_terms", "examples")


def to_csv(rows: list[dict[str, Any]]) -> str:
    """:func:`summarise` rows as CSV text (header only when there are none)."""
    import csv
    import io
    import json

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in rows:
        w.writerow([json.dumps(r[c], ensure_ascii=False) if isinstance(r[c], (dict, list))
                    else (f"{r[c]:.4f}" if isinstance(r[c], float) else r[c]) for c in CSV_COLUMNS])
    return buf.getvalue()


def counts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The numeric part of :func:`summarise` rows (for run.json and the ``--json`` summary)."""
    keep = ("backend", "category", "attempts", "refused", "refusal_rate", "prompts", "prompts_refused")
    return [{k: (round(r[k], 4) if isinstance(r[k], float) else r[k]) for k in keep} for r in rows]
