"""End to end on real files (skips without ../shared/data): knee crops, DICOM radiographs, CT,
MR and ultrasound DICOMs through `anatscore evaluate`, as a user would run it.

The files are copied into a temporary folder (a subset keeps the test short); nothing is kept.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from anatscore.cli import main

DICOMS = {  # file -> (modality, region, view, region source) the headers give
    "xray/pydicom_data/RG1_J2KR.dcm": ("xray", "chest", "pa", "dicom"),
    "xray/pydicom_data/RG3_J2KR.dcm": ("xray", "leg", "ap", "dicom:StudyDescription"),  # BodyPart EXTREMITY
    "ct_mr_nm/dicom_pydicom/CT_small.dcm": ("ct", "", "", None),
    "ct_mr_nm/dicom_pydicom/MR_small.dcm": ("mri", "", "", None),
    "ct_mr_nm/dicom_pydicom/emri_small.dcm": ("mri", "head", "", "dicom"),  # multi-frame: frame 0
    "us/dicom_pydicom/US1_J2KR.dcm": ("us", "", "", None),
    "us/dicom_pydicom/color-px.dcm": ("us", "", "", None),  # RGB
}
WEIGHT_FREE = ["load", "joint.*", "texture.*", "hand.*", "forearm.*", "anatomy.*"]


def test_real_subset_end_to_end(shared_data: Path, tmp_path: Path, capsys) -> None:
    real = shared_data / "real"
    src = tmp_path / "in"
    (src / "knee").mkdir(parents=True)
    (src / "dicom").mkdir()
    knees = sorted((real / "xray/knee_kl/0").glob("*.png"))[:5] + sorted((real / "xray/knee_kl/2").glob("*.png"))[:5]
    for f in knees:
        shutil.copy(f, src / "knee" / f.name)
    for rel in DICOMS:
        shutil.copy(real / rel, src / "dicom" / Path(rel).name)
    # the knee crops carry no metadata: a manifest names their region, the DICOMs speak for themselves
    (src / "manifest.csv").write_text("path,modality,region,view\n"
                                      + "".join(f"knee/{f.name},xray,knee,ap\n" for f in knees))
    run = tmp_path / "run"
    rc = main(["evaluate", str(src), "--out", str(run), "--json", "--workers", "2", "--checks", *WEIGHT_FREE])
    out, err = capsys.readouterr()
    assert rc == 0, err
    doc = json.loads(out)
    n = len(knees) + len(DICOMS)
    assert doc["counts"] == {"images": n, "scored": n, "failed": 0, "refused": 0, "check_errors": 0}

    images = pd.read_csv(run / "images.csv", keep_default_na=False).set_index("path")
    checks = pd.read_csv(run / "checks.csv", keep_default_na=False)
    assert (images["load_status"] == "ok").all() and (checks[checks["check"] == "load"]["passed"] == "true").all()
    assert not checks["reason"].str.startswith("check error").any()
    assert checks.groupby("image_id").size().nunique() == 1  # one row per (image, selected check)
    for rel, (modality, region, view, source) in DICOMS.items():
        row = images.loc[f"dicom/{Path(rel).name}"]
        assert (row["modality"], row["region"], row["view"], row["format"]) == (modality, region, view, "dicom"), rel
        inferred = dict(kv.split("=") for kv in row["inferred"].split(";"))
        assert inferred["modality"] == "dicom" and inferred.get("region") == source, rel
    assert images.loc["dicom/color-px.dcm", "load_reason"] == ""
    # every knee crop is judged by the knee checks (none left "not applicable")
    knee_rows = checks[checks["path"].str.startswith("knee/") & (checks["check"] == "joint.space")]
    assert len(knee_rows) == len(knees) and (knee_rows["passed"] != "").all()
    # the non-knee images are not judged by knee checks, with the reason saying why
    other = checks[checks["path"].str.startswith("dicom/") & (checks["check"] == "joint.space")]
    assert (other["passed"] == "").all() and other["reason"].str.startswith("applies to").all()
