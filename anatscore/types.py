"""Typed records shared by every part of anatscore.

Nothing here imports torch: the registry, the CLI's ``list`` command and the docs can use these
types on a machine without the model stack.

Data flow::

    ImageMeta (from discovery / manifest)
      -> LoadedImage (decoded once: grey float32 [0, 1], colour uint8, metadata)
      -> CheckResult per (image, check)       (checks/*)
      -> set-level metrics per stratum        (metrics/*)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

#: Fields of :class:`ImageMeta` a manifest row may set (``path`` is required).
MANIFEST_FIELDS: tuple[str, ...] = (
    "path",
    "prompt",
    "modality",
    "region",
    "view",
    "task",
    "original",
    "mask",
    "backend",
    "seed",
    "refused",
)


@dataclass
class ImageMeta:
    """What is known about one input image before (and after) decoding.

    ``image_id`` is stable across runs of the same folder (the path relative to the input
    folder, plus ``#frame=N`` for extra DICOM frames) and is the key for resume.
    ``inferred`` maps a field name (``"region"``) to the source that filled it in
    (``"classifier:gallery"``, ``"png-text"``, ``"sidecar"``) when it did not come from a manifest.
    """

    image_id: str
    path: str  # relative to the input folder (POSIX separators)
    abspath: str = ""
    sha256: str = ""
    size_bytes: int = 0
    width: int = 0
    height: int = 0
    format: str = ""
    modality: str = ""  # xray | ct | mri | us | nm | "" (unknown)
    region: str = ""  # see anatscore.vocab.REGIONS
    view: str = ""  # ap | pa | lateral | ""
    task: str = ""  # text2img | inpaint | outpaint | pathology | ""
    prompt: str = ""
    backend: str = ""
    seed: str = ""
    original: str = ""  # relative path of the original image (inpaint/outpaint)
    mask: str = ""  # relative path of the mask (inpaint/outpaint)
    refused: bool = False
    inferred: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class LoadedImage:
    """One decoded image, shared by every check and model in a run.

    Attributes:
        meta: the image's :class:`ImageMeta`.
        grey: float32 array (H, W) in [0, 1]; for radiographs, bright = dense (bone), whatever
            the file's photometric interpretation was (MONOCHROME1 is inverted on load).
        colour: uint8 array (H, W, 3) as decoded, before conversion to grey (``None`` for
            single-channel sources). Colour matters for "photo of a film" detection.
        original: float32 grey (H, W) of the original image for inpaint/outpaint tasks, or None.
        mask: bool (H, W) inpainting/outpainting mask (True = generated region), or None.
        info: decoder metadata (bit depth, photometric interpretation, DICOM tags, ...).
        cache: per-image memo for intermediate results shared between checks (see :meth:`memo`).
    """

    meta: ImageMeta
    grey: np.ndarray
    colour: Optional[np.ndarray] = None
    original: Optional[np.ndarray] = None
    mask: Optional[np.ndarray] = None
    info: dict[str, Any] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        """Return ``cache[key]``, computing it once with ``compute()`` if absent.

        Checks use this to share segmentations and feature maps (e.g. the bone mask) so that
        each is computed once per image however many checks need it.
        """
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on one image.

    ``passed`` is True (pass), False (fail) or None (not applicable / could not be judged).
    ``reason`` is for humans ("expected 5 digits, found 6"). ``value`` is the headline number
    (a count, a width, a score) or None. ``extra`` carries further numbers worth a column in a
    report; ``evidence`` carries small geometric evidence for the report (points, boxes, contours
    as lists; masks as run-length or downsampled lists) and is never required.
    """

    check: str
    value: Optional[float]
    passed: Optional[bool]
    reason: str
    extra: dict[str, Any] = field(default_factory=dict)
    evidence: Optional[dict[str, Any]] = None

    @classmethod
    def na(cls, check: str, reason: str, **extra: Any) -> "CheckResult":
        """A not-applicable result (``passed=None``)."""
        return cls(check=check, value=None, passed=None, reason=reason, extra=dict(extra))

    @classmethod
    def judge(
        cls,
        check: str,
        value: Optional[float],
        ok: bool,
        reason: str,
        evidence: Optional[dict[str, Any]] = None,
        **extra: Any,
    ) -> "CheckResult":
        """A pass/fail result."""
        return cls(check=check, value=value, passed=bool(ok), reason=reason, extra=dict(extra), evidence=evidence)


@dataclass(frozen=True)
class CheckSpec:
    """Registry entry for one check: plain data, importable without torch.

    Attributes:
        name: dotted, stable name (``hand.digit_count``); also the ``check`` column.
        summary: one line on what it measures (shown by ``anatscore list checks``).
        target: ``"module:function"`` implementing ``fn(image: LoadedImage, ctx: CheckContext)
            -> CheckResult``; imported lazily on first use.
        batch_target: optional ``"module:function"`` implementing ``fn(images: list[LoadedImage],
            ctx) -> list[CheckResult]`` for model-based checks that batch their inputs.
        regions: regions it applies to (empty = any region, including unknown).
        modalities: modalities it applies to (empty = any, including unknown).
        tasks: tasks it applies to (empty = any).
        views: views it applies to (empty = any). Unlike regions, an image whose view is unknown
            is judged: most generated images carry no view, and a frontal film is the default.
        needs: what it needs: ``grey``, ``colour``, ``original+mask``, ``reference``,
            ``weights:<record name>`` (see models/weights/), ``single_panel`` (one radiograph,
            not a grid of several: see ``anatscore.checks.IMAGE_GATES``).
        stage: 0 = inference (fills in modality/region/view), 1 = ordinary checks,
            2 = aggregates that read earlier results (``anatomy.plausible``).
        group: display group (``load``, ``anatomy``, ``layout``, ``modality``, ``pathology``...).
        headline: True if its verdict gets a column in images.csv.
    """

    name: str
    summary: str
    target: str
    batch_target: str = ""
    regions: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()
    tasks: tuple[str, ...] = ()
    views: tuple[str, ...] = ()
    needs: tuple[str, ...] = ("grey",)
    stage: int = 1
    group: str = ""
    headline: bool = False

    def weights(self) -> tuple[str, ...]:
        """Names of the weight records this check needs."""
        return tuple(n.split(":", 1)[1] for n in self.needs if n.startswith("weights:"))


@dataclass(frozen=True)
class MetricSpec:
    """Registry entry for one set-level metric (FID, KID, ...)."""

    name: str
    summary: str
    target: str  # "module:Class" implementing update()/compute()/merge()
    function: str = ""  # "module:function" one-shot twin
    needs: tuple[str, ...] = ("reference",)


@dataclass(frozen=True)
class ExtractorSpec:
    """Registry entry for one feature extractor (inception, xrv, clip, radiomic)."""

    name: str
    summary: str
    target: str  # "module:Class"
    dim: int = 0
    needs: tuple[str, ...] = ()

