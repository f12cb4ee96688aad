"""Refusal statistics per prompt category."""

from __future__ import annotations

import pytest

from anatscore import refusals
from anatscore.types import ImageMeta


def _m(prompt: str, refused: bool, backend: str = "dalle2", i: int = 0) -> ImageMeta:
    return ImageMeta(image_id=f"{backend}{i}{prompt}", path="", prompt=prompt, refused=refused, backend=backend)


def test_prompt_categories() -> None:
    assert refusals.prompt_categories("CT head with intracranial haemorrhage") == {"haemorrhage": ["haemorrhage"]}
    cats = refusals.prompt_categories("x-ray of a fractured femur in a child")
    assert cats == {"fracture": ["fractured"], "child": ["child"]}
    assert refusals.prompt_categories("an x-ray of a knee") == {}
    assert refusals.prompt_categories("bloodless field") == {}  # word boundaries


def test_summarise_counts_per_backend_and_category() -> None:
    metas = [
        _m("CT of the brain with hemorrhage", True, i=1),
        _m("CT of the brain with hemorrhage", False, i=2),
        _m("MRI with a subdural haematoma", True, i=3),
        _m("x-ray of a fractured wrist", False, i=4),
        _m("x-ray of a knee", False, i=5),
        _m("CT of the brain with hemorrhage", False, backend="sd", i=6),
    ]
    rows = refusals.summarise(metas)
    by = {(r["backend"], r["category"]): r for r in rows}
    h = by[("dalle2", "haemorrhage")]
    assert (h["attempts"], h["refused"], h["prompts"], h["prompts_refused"]) == (3, 2, 2, 2)
    assert h["refusal_rate"] == pytest.approx(2 / 3)
    assert h["refused_terms"] == {"haematoma": 1, "hemorrhage": 1}
    assert by[("dalle2", "fracture")]["refused"] == 0
    assert by[("dalle2", "uncategorised")]["attempts"] == 1
    a = by[("dalle2", "all")]
    assert (a["attempts"], a["refused"]) == (5, 2)
    assert by[("sd", "haemorrhage")]["refused"] == 0
    assert rows[0]["category"] == "all" and rows[0]["backend"] == "dalle2"
    assert rows[1]["category"] == "haemorrhage"  # highest rate first
    pooled = refusals.summarise(metas, by_backend=False)
    assert {r["backend"] for r in pooled} == {"*"}
    assert "haemorrhage" in refusals.format_table(rows)


def test_summarise_accepts_manifest_dicts_and_custom_vocabulary() -> None:
    rows = refusals.summarise([{"prompt": "a gory scene", "refused": "true"}, {"prompt": "gory", "refused": "0"}],
                              vocabulary={"gore": ["gory"]})
    g = [r for r in rows if r["category"] == "gore"][0]
    assert (g["attempts"], g["refused"], g["prompts"], g["prompts_refused"]) == (2, 1, 2, 1)
    assert g["examples"] == ["a gory scene"]
