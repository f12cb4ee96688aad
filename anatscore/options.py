"""Per-check options (``EvalConfig.options``) given as ``NAMESPACE.KEY=VALUE`` strings.

``EvalConfig.options`` is ``{namespace: {key: value}}``; checks read it with
``config.option(namespace, key, default)``. The namespace is usually the check name
(``xrv.pathology``, ``xrv.ribs``); the three classifier checks (``modality.match``,
``region.match``, ``view.match``) share the ``classify`` namespace. On the command line an option
is ``--option NAMESPACE.KEY=VALUE``: the key is the text after the last dot before ``=``, so
``xrv.pathology.normal_reference=DIR`` is namespace ``xrv.pathology``, key ``normal_reference``.
VALUE is parsed as JSON when it parses (``0.001``, ``true``, ``[0.3, 0.7]``), else kept as a string.

:data:`KNOWN_OPTIONS` documents the options the merged checks read (shown by
``anatscore list options``); an option outside it is passed through with a warning, since a check
may read keys this table does not know yet.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

#: namespace -> key -> (default as shown to users, what it does)
KNOWN_OPTIONS: dict[str, dict[str, tuple[str, str]]] = {
    "classify": {
        "backend": ("clip", "classifier behind modality/region/view.match: clip or gallery"),
        "gallery": ("", "reference gallery for the gallery backend (selects it when backend is unset)"),
        "model": ("hf-hub:microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224", "open_clip model name"),
        "pretrained": ("", "open_clip pretrained tag or a checkpoint file ('random': untrained)"),
        "record": ("", "weights record to load the CLIP model from (default: the model's own record)"),
        "prompts": ("", "folder of <task>.json zero-shot prompt files (default: the packaged prompts)"),
    },
    "xrv.pathology": {
        "variant": ("densenet121-res224-all", "torchxrayvision DenseNet variant"),
        "normal_reference": ("", "folder of normal real chest films: finding scores are judged against "
                                 "their score distribution"),
    },
    "xrv.ood": {"max_error": ("none (value only)", "autoencoder reconstruction error above which a film fails")},
    "xrv.ctr": {"ctr_range": ("[0.30, 0.70]", "plausible cardiothoracic ratio [low, high]"),
                "min_area": ("0.0005", "smallest structure area (fraction of the image) counted as present")},
    "xrv.ribs": {"min_ribs": ("8", "fewest posterior ribs per side"),
                 "max_rib_asymmetry": ("2", "largest left/right rib count difference"),
                 "min_area": ("0.0005", "smallest structure area (fraction of the image) counted as present")},
    "joint.space": {"min": ("knee record's joint_space_depth min",
                            "smallest femorotibial gap depth counted as an open joint")},
    "texture.trabecular_anisotropy": {"min": ("record's trabecular_anisotropy min",
                                              "lowest trabecular anisotropy accepted")},
    "wrist.carpal_separation": {"min": ("wrist record's carpal_separable min (4; lower by age)",
                                        "fewest separable carpal bone pieces accepted")},
    "realism": {
        "k": ("5", "k of the k-NN precision/recall/density/coverage and realism scores"),
        "bootstrap": ("100", "bootstrap replicates for the confidence intervals"),
        "kid_subsets": ("100", "KID subsets"),
        "kid_subset_size": ("1000", "KID subset size"),
        "metrics": ("registry.METRIC_EXTRACTORS", "{extractor: [metric, ...]} overriding the defaults"),
        "extractors": ("{}", "{extractor: {keyword: value}} e.g. {\"inception\": {\"resize\": \"clean\"}}"),
        "reference_meta": ("", "{modality, region, view} for every reference image the folder does not label"),
    },
    **{name: {"min_area": ("0.0005", "smallest structure area (fraction of the image) counted as present")}
       for name in ("xrv.lungs", "xrv.heart_laterality", "xrv.clavicles", "xrv.scapulae", "xrv.vertebrae")},
}


class OptionError(ValueError):
    """An ``--option`` string that is not ``NAMESPACE.KEY=VALUE``."""


def parse_value(text: str) -> Any:
    """JSON when ``text`` parses as JSON, else the string itself (``"0.5"`` -> 0.5, ``"DIR"`` -> "DIR")."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_option(text: str) -> tuple[str, str, Any]:
    """``"xrv.pathology.normal_reference=/data/n"`` -> ``("xrv.pathology", "normal_reference", "/data/n")``.

    Raises:
        OptionError: no ``=``, or no dot before it, or an empty namespace / key.
    """
    name, sep, value = text.partition("=")
    namespace, dot, key = name.strip().rpartition(".")
    if not sep or not dot or not namespace or not key:
        raise OptionError(f"option {text!r} is not NAMESPACE.KEY=VALUE (e.g. classify.backend=gallery)")
    return namespace, key, parse_value(value.strip())


def parse_options(texts: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Several ``NAMESPACE.KEY=VALUE`` strings as ``EvalConfig.options`` (a later one wins)."""
    out: dict[str, dict[str, Any]] = {}
    for t in texts:
        ns, key, value = parse_option(t)
        out.setdefault(ns, {})[key] = value
    return out


def unknown_options(options: Mapping[str, Mapping[str, Any]], check_names: Iterable[str]) -> list[str]:
    """Human notes on options no known check reads: a namespace that is neither in
    :data:`KNOWN_OPTIONS` nor a registered check name, or a key :data:`KNOWN_OPTIONS` does not list
    for its namespace (likely a typo)."""
    names = set(check_names)
    notes: list[str] = []
    for ns, kv in options.items():
        if ns in KNOWN_OPTIONS:
            for key in kv:
                if key not in KNOWN_OPTIONS[ns]:
                    notes.append(f"option {ns}.{key}: no known check reads key {key!r} "
                                 f"(known: {', '.join(sorted(KNOWN_OPTIONS[ns]))})")
        elif ns not in names:
            notes.append(f"option namespace {ns!r} is neither a check name nor one of "
                         f"{', '.join(sorted(KNOWN_OPTIONS))}")
    return notes


def option_rows() -> list[dict[str, str]]:
    """:data:`KNOWN_OPTIONS` as rows for ``anatscore list options``."""
    return [{"option": f"{ns}.{key}", "default": default, "summary": summary}
            for ns, keys in KNOWN_OPTIONS.items() for key, (default, summary) in keys.items()]
