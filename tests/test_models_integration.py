"""End to end through the real weights manager and runner: random-weight files of the real
architectures are imported with ``anatscore.weights.import_file`` (as an air-gapped user would
import the real ones), then ``anatscore.evaluate`` runs the model checks on in-memory images.

What is under test is the wiring (record names, strict loading, batching, run.json provenance,
refusals kept out of scoring), not the random networks' verdicts.
"""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.slow
def test_evaluate_with_imported_random_weights(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import torch

    import anatscore
    from anatscore import refusals, weights
    from anatscore.backbones import xrv as bx

    torch.manual_seed(0)
    f = tmp_path / "dn.pt"
    torch.save(bx.build_densenet().state_dict(), f)
    info = weights.import_file("xrv-densenet121-res224-all", f)
    rng = np.random.default_rng(0)
    images = {f"cxr{i}": rng.random((300, 260), dtype=np.float32) for i in range(3)}
    manifest = [
        {"image_id": "cxr0", "prompt": "chest x-ray with pleural effusion", "task": "pathology"},
        {"image_id": "cxr1", "prompt": "normal chest x-ray"},
        {"image_id": "cxr2", "prompt": "chest x-ray"},
    ]
    res = anatscore.evaluate(images, manifest=manifest, checks=["xrv.pathology", "modality.match"],
                             modality="xray", region="chest", device="cpu", batch_size=2)
    checks = res.checks.set_index(["image_id", "check"])
    for i in range(3):
        row = checks.loc[(f"cxr{i}", "xrv.pathology")]
        assert not str(row["reason"]).startswith("check error"), row["reason"]
    assert checks.loc[("cxr0", "xrv.pathology"), "passed"] in (True, False)  # judged
    assert "Effusion" in checks.loc[("cxr0", "xrv.pathology"), "reason"]
    # no CLIP weights here: one actionable reason, not a check error
    assert all("weights not installed" in str(r) and "biomedclip" in str(r)
               for r in res.checks[res.checks.check == "modality.match"].reason)
    assert {"name": "xrv-densenet121-res224-all", "sha256": info["sha256"]} in res.manifest["models"]
    # refusals are summarised from the image records, not scored
    rows = refusals.summarise([{"prompt": "CT with hemorrhage", "refused": True}, {"prompt": "x", "refused": False}])
    assert rows[0]["category"] == "all" and rows[0]["refused"] == 1
