"""Controlled vocabularies: modalities, regions, views, tasks, with their accepted synonyms.

Manifests and sidecars are written by people and generators; :func:`normalise` maps what they
write (``"X-ray"``, ``"CXR"``, ``"hip"``, ``"PA"``) to the canonical names used everywhere else.
"""

from __future__ import annotations

MODALITIES: dict[str, str] = {
    "xray": "radiograph (plain film, CR, DR)",
    "ct": "computed tomography slice",
    "mri": "magnetic resonance slice",
    "us": "ultrasound",
    "nm": "nuclear medicine (scintigraphy)",
}

#: Canonical region names. Spine has segment-level names; ``spine`` alone means unknown segment.
REGIONS: dict[str, str] = {
    "head": "head / skull (incl. lateral cephalogram)",
    "chest": "chest / thorax",
    "shoulder": "shoulder (glenohumeral joint, clavicle, scapula)",
    "humerus": "upper arm",
    "elbow": "elbow",
    "forearm": "forearm (radius and ulna)",
    "wrist": "wrist (distal radius/ulna, carpus)",
    "hand": "hand (metacarpals, phalanges)",
    "finger": "finger / thumb (one digit's phalanges; a hand check's digit count does not apply)",
    "abdomen": "abdomen (KUB)",
    "pelvis": "pelvis / hips",
    "femur": "thigh (femur)",
    "knee": "knee",
    "leg": "lower leg (tibia and fibula)",
    "ankle": "ankle",
    "foot": "foot",
    "spine": "spine (segment unspecified)",
    "cervical_spine": "cervical spine",
    "thoracic_spine": "thoracic spine",
    "lumbar_spine": "lumbar spine",
}

VIEWS: dict[str, str] = {"ap": "antero-posterior", "pa": "postero-anterior", "lateral": "lateral"}

TASKS: dict[str, str] = {
    "text2img": "generated from a text prompt",
    "inpaint": "a masked part of a real image regenerated",
    "outpaint": "a real image extended beyond its borders",
    "pathology": "prompted to show a pathology",
}

_SYNONYMS: dict[str, dict[str, str]] = {
    "modality": {
        "x-ray": "xray", "x ray": "xray", "radiograph": "xray", "radiography": "xray", "xr": "xray",
        "cr": "xray", "dx": "xray", "cxr": "xray", "dr": "xray", "plain film": "xray",
        "mr": "mri", "magnetic resonance": "mri", "ultrasound": "us", "sonography": "us",
        "echo": "us", "computed tomography": "ct", "nuclear medicine": "nm", "scintigraphy": "nm",
        "pt": "nm", "pet": "nm", "spect": "nm",
    },
    "region": {
        "skull": "head", "cephalogram": "head", "thorax": "chest", "hip": "pelvis", "hips": "pelvis",
        "pelvis/hip": "pelvis", "head/skull": "head", "tibia": "leg", "fibula": "leg",
        "lower leg": "leg", "tibia/fibula": "leg", "thigh": "femur", "upper arm": "humerus",
        "fingers": "finger", "thumb": "finger", "digit": "finger", "kub": "abdomen", "c-spine": "cervical_spine",
        "t-spine": "thoracic_spine", "l-spine": "lumbar_spine", "cervical spine": "cervical_spine",
        "thoracic spine": "thoracic_spine", "lumbar spine": "lumbar_spine", "carpus": "wrist",
        "tarsus": "foot",
    },
    "view": {"frontal": "ap", "a-p": "ap", "p-a": "pa", "lat": "lateral", "ll": "lateral"},
    "task": {
        "txt2img": "text2img", "text-to-image": "text2img", "generation": "text2img",
        "inpainting": "inpaint", "outpainting": "outpaint",
    },
}

_CANON = {"modality": MODALITIES, "region": REGIONS, "view": VIEWS, "task": TASKS}


def normalise(kind: str, value: str | None) -> str:
    """Map a free-text ``value`` of vocabulary ``kind`` to its canonical name.

    Returns ``""`` for empty input. Raises ``ValueError`` naming the accepted values when the
    value is not recognised.

    >>> normalise("modality", "X-Ray")
    'xray'
    >>> normalise("region", "Hip")
    'pelvis'
    """
    if value is None:
        return ""
    v = str(value).strip().lower().replace("_", " ")
    if not v:
        return ""
    canon = _CANON[kind]
    key = v.replace(" ", "_")
    if key in canon:
        return key
    if v in _SYNONYMS[kind]:
        return _SYNONYMS[kind][v]
    raise ValueError(f"unknown {kind} {value!r}; expected one of: {', '.join(canon)}")


def phrases(kind: str) -> dict[str, list[str]]:
    """Canonical name -> every accepted spelling (the name with spaces, then its synonyms), for
    finding vocabulary words in free text.

    >>> phrases("region")["leg"]
    ['leg', 'tibia', 'fibula', 'lower leg', 'tibia/fibula']
    """
    out = {name: [name.replace("_", " ")] for name in _CANON[kind]}
    for syn, name in _SYNONYMS[kind].items():
        out[name].append(syn)
    return out


def spine_region(region: str) -> bool:
    """True for ``spine`` and its segment-level names."""
    return region.endswith("spine")
