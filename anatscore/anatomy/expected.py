"""Expected anatomy as data: per region, which structures and counts a plausible radiograph shows.

One JSON file per region in ``anatscore/anatomy/regions/<region>.json``::

    {
      "region": "hand",
      "views": ["pa", "ap"],
      "source": "where the numbers come from (anatomy text, measured on real data: command)",
      "expect": {
        "digit_count":          {"min": 5, "max": 5, "note": "..."},
        "phalanges.thumb":      {"min": 2, "max": 2},
        "phalanges.finger":     {"min": 3, "max": 3},
        "metacarpal_count":     {"min": 5, "max": 5}
      },
      "structures": ["metacarpals", "phalanges", "..."]
    }

Checks read their expected ranges from here (``expected("hand")["digit_count"]``), so adding a
region means adding a record and, at most, a detector. A record may also carry a ``"polarity"``
layout (where its dense and lucent parts lie, so that a negative without air at its border is
recognised): see :mod:`anatscore.anatomy.polarity`; the ``raw`` dict keeps every entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

_DIR = Path(__file__).resolve().parent / "regions"


@dataclass(frozen=True)
class Expectation:
    """An expected range ``[min, max]`` (either may be None for open-ended)."""

    name: str
    min: float | None
    max: float | None
    unit: str = ""
    note: str = ""

    def contains(self, value: float) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def describe(self) -> str:
        if self.min is not None and self.min == self.max:
            return f"{self.min:g}"
        lo = "-inf" if self.min is None else f"{self.min:g}"
        hi = "inf" if self.max is None else f"{self.max:g}"
        return f"{lo}..{hi}"


@dataclass(frozen=True)
class RegionRecord:
    region: str
    views: tuple[str, ...]
    source: str
    expect: dict[str, Expectation]
    structures: tuple[str, ...]
    raw: dict[str, Any]

    def __getitem__(self, key: str) -> Expectation:
        try:
            return self.expect[key]
        except KeyError:
            raise KeyError(f"region {self.region!r} has no expectation {key!r}") from None


def regions() -> list[str]:
    """Regions that have a record."""
    return sorted(p.stem for p in _DIR.glob("*.json"))


@lru_cache(maxsize=None)
def expected(region: str) -> RegionRecord:
    """The record of ``region`` (``KeyError`` when there is none)."""
    path = _DIR / f"{region}.json"
    if not path.is_file():
        raise KeyError(f"no expected-anatomy record for region {region!r}; known: {', '.join(regions())}")
    raw = json.loads(path.read_text())
    exp = {
        k: Expectation(k, v.get("min"), v.get("max"), v.get("unit", ""), v.get("note", ""))
        for k, v in raw.get("expect", {}).items()
    }
    return RegionRecord(
        region=raw["region"],
        views=tuple(raw.get("views", ())),
        source=raw.get("source", ""),
        expect=exp,
        structures=tuple(raw.get("structures", ())),
        raw=raw,
    )
