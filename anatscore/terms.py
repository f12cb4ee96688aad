"""Matching vocabulary phrases in free-text prompts (pathology requests, refusal categories).

Phrases are data (JSON next to the code that uses them); matching is case-insensitive on word
boundaries, longest phrase first so that "pleural effusion" is one match, not two. A match
preceded within ``window`` words by a negation ("no", "without") is reported as negated.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping, Sequence


@dataclass(frozen=True)
class TermHit:
    """One phrase found in a text: its class (``label``), the phrase, position and negation."""

    label: str
    phrase: str
    start: int
    negated: bool


@lru_cache(maxsize=None)
def load_json(path: str) -> dict:
    """A JSON data file, parsed once."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    alts = sorted({p.lower() for p in phrases}, key=len, reverse=True)
    return re.compile(r"(?<![\w-])(" + "|".join(re.escape(a) for a in alts) + r")(?![\w-])")


@lru_cache(maxsize=64)
def _compiled(items: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[re.Pattern[str], dict[str, str]]:
    owner: dict[str, str] = {}
    for label, phrases in items:
        for p in phrases:
            owner.setdefault(p.lower(), label)
    return _pattern(tuple(owner)), owner


def find_terms(text: str, vocabulary: Mapping[str, Sequence[str]], negations: Iterable[str] = (),
               window: int = 3) -> list[TermHit]:
    """Every vocabulary phrase in ``text`` (non-overlapping, left to right).

    >>> [h.label for h in find_terms("CXR with a left pleural effusion", {"Effusion": ["pleural effusion"]})]
    ['Effusion']
    >>> find_terms("no pneumothorax", {"Pneumothorax": ["pneumothorax"]}, ["no"])[0].negated
    True
    """
    if not text:
        return []
    items = tuple((k, tuple(v)) for k, v in vocabulary.items())
    if not items:
        return []
    pat, owner = _compiled(items)
    low = text.lower()
    neg = tuple(n.lower() for n in negations)
    hits: list[TermHit] = []
    for m in pat.finditer(low):
        before = " ".join(re.findall(r"[\w-]+", low[: m.start()])[-window:])
        negated = any(re.search(r"(?<![\w-])" + re.escape(n) + r"(?![\w-])", before) for n in neg)
        hits.append(TermHit(owner[m.group(1)], m.group(1), m.start(), negated))
    return hits
