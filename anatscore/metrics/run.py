"""Set-level realism metrics accumulated during an evaluation run.

The runner creates one :class:`RunMetrics` when a reference set is configured, calls
:meth:`RunMetrics.add` with every decoded batch (so images are decoded once for checks and
features alike), and writes :meth:`RunMetrics.result` to ``metrics.json``.

State on disk (``<run_dir>/realism/``): one :class:`~anatscore.metrics.store.FeatureStore` per
extractor (``features/<extractor>/``), keyed by image_id. ``add`` returns only once the batch's
features are durable, and ignores image_ids already stored, so a run killed at any point and
resumed neither loses nor double-counts an image. :meth:`result` also writes
``<run_dir>/realism.csv``: per generated image and extractor, the distance to the k-th nearest
reference image and the realism score, ranked within the stratum (rank 1 = least realistic), for
the report's "least realistic images".

Settings come from ``EvalConfig.options["realism"]``: ``k`` (5), ``bootstrap`` (100 replicates),
``kid_subsets`` (100), ``kid_subset_size`` (1000), ``metrics`` (per-extractor metric names,
overriding ``registry.METRIC_EXTRACTORS``), ``extractors`` (per-extractor keyword options,
e.g. ``{"inception": {"weights": PATH, "resize": "clean"}}``), ``reference_meta`` (modality /
region / view applied to every reference image when the reference folder does not say).
"""

from __future__ import annotations

import csv
import io
import logging
from collections import defaultdict
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from ..config import EvalConfig
from ..types import LoadedImage
from .store import FeatureStore, atomic_write_bytes

log = logging.getLogger(__name__)

STRATUM_FIELDS = ("backend", "modality", "region", "view", "task")
CSV_NAME = "realism.csv"
#: Metrics for an extractor the registry's ``METRIC_EXTRACTORS`` does not list.
DEFAULT_METRICS = ("fid", "kid", "precision", "recall", "density", "coverage")


class RunMetrics:
    """Per-stratum realism metrics for one run; ``run_dir`` holds its disk-backed state.

    ``extractors`` (optional) injects ready-built extractors by name (tests, or a caller that
    already loaded the networks); otherwise they are built from the registry on first use.
    """

    def __init__(
        self, config: EvalConfig, run_dir: Path, device: str = "cpu", extractors: Optional[dict[str, Any]] = None
    ) -> None:
        from .realism import RealismOptions

        self.config = config
        self.run_dir = Path(run_dir)
        self.device = device
        self.root = self.run_dir / "realism"
        self.options: dict[str, Any] = dict(config.options.get("realism", {}))
        self.realism_options = RealismOptions.from_config(self.options, config.seed)
        names = list(dict.fromkeys(config.extractors or ("inception",)))
        self._injected = dict(extractors or {})
        for name in self._injected:
            if name not in names:
                names.append(name)
        self.names = names
        self._extractors: dict[str, Any] = {}
        self._stores: dict[str, FeatureStore] = {}
        self.unavailable: dict[str, str] = {}
        self.failed: dict[str, str] = {}

    # -- extractors and stores --------------------------------------------------------------

    def _extractor(self, name: str) -> Optional[Any]:
        if name in self._extractors:
            return self._extractors[name]
        if name in self.unavailable:
            return None
        try:
            if name in self._injected:
                ex = self._injected[name]
            else:
                from ..features import build_extractor

                opts = dict(self.options.get("extractors", {}).get(name, {}))
                opts.setdefault("batch_size", self.config.batch_size)
                ex = build_extractor(name, device=self.device, **opts)
            self._stores[name] = FeatureStore(self.root / "features" / name, identity=ex.identity())
        except Exception as exc:  # noqa: BLE001 - a missing model must not stop the run
            self.unavailable[name] = f"{type(exc).__name__}: {exc}"
            log.warning("realism extractor %s unavailable: %s", name, exc)
            return None
        self._extractors[name] = ex
        return ex

    # -- accumulation -------------------------------------------------------------------------

    def add(self, images: Sequence[LoadedImage]) -> None:
        """Featurise a batch of decoded generated images (already-seen image_ids are ignored).

        Durable on return: the runner may mark these images done right after. An image one
        extractor cannot featurise is logged and left out of that extractor's metrics.
        """
        for name in self.names:
            ex = self._extractor(name)
            if ex is None:
                continue
            store = self._stores[name]
            todo = [im for im in images if im.meta.image_id not in store and not im.meta.refused]
            if not todo:
                continue
            try:
                feats = ex.extract(todo)
                ok = todo
            except Exception as exc:  # noqa: BLE001 - fall back to one image at a time
                log.warning("%s failed on a batch (%s); retrying image by image", name, exc)
                ok, rows = [], []
                for im in todo:
                    try:
                        rows.append(ex.extract([im]))
                        ok.append(im)
                    except Exception as err:  # noqa: BLE001 - per-image error, run goes on
                        self.failed[f"{name}:{im.meta.image_id}"] = str(err)
                        log.warning("%s could not featurise %s: %s", name, im.meta.image_id, err)
                feats = np.concatenate(rows) if rows else np.zeros((0, ex.dim), np.float32)
            if ok:
                meta = [{f: str(getattr(im.meta, f) or "") for f in STRATUM_FIELDS} for im in ok]
                store.add([im.meta.image_id for im in ok], feats, meta)

    # -- results ----------------------------------------------------------------------------

    def result(self) -> dict[str, Any]:
        """The ``metrics.json`` document: ``{"strata": [...], ...}``; also writes ``realism.csv``."""
        from ..registry import METRIC_EXTRACTORS
        from .realism import evaluate_features, feature_shifts, per_image_scores
        from .reference import load_reference

        doc: dict[str, Any] = {"strata": [], "reference": None, "extractors": {}, "per_image_csv": CSV_NAME, "notes": []}
        ready = [n for n in self.names if self._extractor(n) is not None]
        for name, why in self.unavailable.items():
            doc["extractors"][name] = {"error": why}
        if self.failed:
            doc["failed_images"] = dict(list(self.failed.items())[:50])
        if not ready or not self.config.reference:
            doc["notes"].append("no reference set or no usable extractor: no realism metrics")
            return doc
        exs = [self._extractors[n] for n in ready]
        try:
            ref = load_reference(
                self.config.reference, exs, self.options.get("reference_meta"), batch_size=self.config.batch_size
            )
        except Exception as exc:  # noqa: BLE001 - reported in metrics.json, run still completes
            log.error("reference %s unusable: %s", self.config.reference, exc)
            doc["reference"] = {"source": str(self.config.reference), "error": f"{type(exc).__name__}: {exc}"}
            return doc
        doc["reference"] = {"source": ref.source, "n": len(ref), "skipped": ref.skipped}
        for ex in exs:
            doc["extractors"][ex.name] = ex.identity()

        # strata over every generated image seen by any extractor
        strata: dict[tuple[str, ...], set[str]] = defaultdict(set)
        for name in ready:
            st = self._stores[name]
            for image_id, meta in zip(st.ids(), st.meta()):
                strata[tuple(meta.get(f, "") for f in STRATUM_FIELDS)].add(image_id)

        ref_mod = np.array([m.get("modality", "") for m in ref.meta], dtype=object)
        ref_reg = np.array([m.get("region", "") for m in ref.meta], dtype=object)
        csv_rows: list[dict[str, Any]] = []
        for key in sorted(strata):
            fields = dict(zip(STRATUM_FIELDS, key))
            mask = (ref_mod == fields["modality"]) & (ref_reg == fields["region"])
            if fields["modality"] and fields["region"] and mask.any():
                scope, note = "same modality and region", ""
            else:
                mask = np.ones(len(ref), bool)
                what = f"modality={fields['modality'] or 'unknown'}, region={fields['region'] or 'unknown'}"
                scope = "whole reference set"
                note = f"no reference images with {what}: compared with the whole reference set ({len(ref)} images)"
            row: dict[str, Any] = {**fields, "n": len(strata[key]), "n_reference": int(mask.sum()), "reference_scope": scope}
            if note:
                row["note"] = note
            row["metrics"] = {}
            for ex in exs:
                st = self._stores[ex.name]
                ids = [i for i in st.ids() if i in strata[key]]
                gen = st.features(ids)
                ref_feats = ref.check(ex)[mask]
                wanted = self.options.get("metrics", {}).get(ex.name) or METRIC_EXTRACTORS.get(ex.name, DEFAULT_METRICS)
                row["metrics"].update(
                    evaluate_features(gen, ref_feats, ex.name, wanted, self.realism_options, ex.standardize)
                )
                if len(ids) < row["n"]:
                    for entry_key, entry in row["metrics"].items():
                        if entry_key.endswith(f"@{ex.name}"):
                            extra = f"{row['n'] - len(ids)} image(s) of this stratum could not be featurised by {ex.name}"
                            entry["warning"] = "; ".join(filter(None, [entry["warning"], extra]))
                if ex.feature_names:
                    row.setdefault("feature_shifts", {})[ex.name] = feature_shifts(gen, ref_feats, ex.feature_names)
                scores = per_image_scores(gen, ref_feats, self.realism_options.k, ex.standardize)
                order = np.argsort(np.nan_to_num(scores["realism"], nan=np.inf), kind="stable")
                rank = np.empty(len(ids), int)
                rank[order] = np.arange(1, len(ids) + 1)
                for i, image_id in enumerate(ids):
                    csv_rows.append(
                        {
                            "image_id": image_id,
                            **fields,
                            "extractor": ex.name,
                            "knn_distance": float(scores["knn_distance"][i]),
                            "realism": float(scores["realism"][i]),
                            "rank_in_stratum": int(rank[i]),
                        }
                    )
            doc["strata"].append(row)
        if any(r["n"] < 2000 for r in doc["strata"]):
            doc["notes"].append(
                "FID is biased upward below a few thousand images per set: read kid@* and cmmd@clip beside it"
            )
        self._write_csv(csv_rows)
        return doc

    def _write_csv(self, rows: list[dict[str, Any]]) -> None:
        cols = ["image_id", *STRATUM_FIELDS, "extractor", "knn_distance", "realism", "rank_in_stratum"]
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        atomic_write_bytes(self.run_dir / CSV_NAME, buf.getvalue().encode())
