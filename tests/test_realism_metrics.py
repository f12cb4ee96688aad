"""Set-level realism metrics against reference implementations and invariants (no weights)."""

from __future__ import annotations

import numpy as np
import pytest

from anatscore.metrics.cmmd import cmmd, cmmd_bootstrap
from anatscore.metrics.frechet import FrechetStats, frechet_distance, frechet_distance_features, weighted_frechet_to
from anatscore.metrics.kid import kid, kid_bootstrap, mmd2_unbiased, polynomial_kernel
from anatscore.metrics.prdc import prdc, prdc_with_intervals


def _sets(seed: int = 0, n: int = 300, m: int = 260, d: int = 64, shift: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, d)) @ rng.normal(scale=0.3, size=(d, d)) + 1.0
    b = rng.normal(size=(m, d)) @ rng.normal(scale=0.3, size=(d, d)) + 1.0 + shift
    return a.astype(np.float32), b.astype(np.float32)


# --- Fréchet ---------------------------------------------------------------------------------


def test_frechet_matches_pytorch_fid() -> None:
    fid_score = pytest.importorskip("pytorch_fid.fid_score")
    a, b = _sets()
    mu1, s1 = a.astype(np.float64).mean(0), np.cov(a.astype(np.float64), rowvar=False)
    mu2, s2 = b.astype(np.float64).mean(0), np.cov(b.astype(np.float64), rowvar=False)
    ref = fid_score.calculate_frechet_distance(mu1, s1, mu2, s2)
    ours = frechet_distance_features(a, b)
    assert ours == pytest.approx(ref, rel=1e-6)


def test_frechet_matches_torchmetrics_rank_deficient() -> None:
    """n < d (singular covariances), the regime of small strata with 2048-d features."""
    torch = pytest.importorskip("torch")
    fid_mod = pytest.importorskip("torchmetrics.image.fid")
    a, b = _sets(seed=1, n=40, m=50, d=96)
    ta, tb = torch.from_numpy(a).double(), torch.from_numpy(b).double()
    ref = fid_mod._compute_fid(ta.mean(0), torch.cov(ta.T), tb.mean(0), torch.cov(tb.T)).item()
    assert frechet_distance_features(a, b) == pytest.approx(ref, rel=1e-6)


def test_frechet_known_answer_and_self() -> None:
    # N(0, I) vs N(1, 4I) in 3-d: |mu|^2 = 3, tr(I + 4I - 2*2I) = 3
    assert frechet_distance(np.zeros(3), np.eye(3), np.ones(3), 4 * np.eye(3)) == pytest.approx(6.0, abs=1e-12)
    a, _ = _sets()
    assert abs(frechet_distance_features(a, a)) < 1e-8


def test_frechet_stream_batch_size_independent_and_merge_exact() -> None:
    a, b = _sets(d=32)
    one = FrechetStats.from_features(a)
    for bs in (1, 7, 64):
        s = FrechetStats(32)
        for i in range(0, len(a), bs):
            s.update(a[i : i + bs])
        assert s.compute(FrechetStats.from_features(b)) == pytest.approx(one.compute(FrechetStats.from_features(b)), rel=1e-5)
    shards = [FrechetStats.from_features(a[i : i + 97]) for i in range(0, len(a), 97)]
    merged = shards[0]
    for s in shards[1:]:
        merged.merge(s)
    assert merged.n == one.n
    np.testing.assert_allclose(merged.total, one.total, rtol=1e-13, atol=1e-11)
    np.testing.assert_allclose(merged.outer, one.outer, rtol=1e-13, atol=1e-11)
    round_trip = FrechetStats.from_arrays(merged.to_arrays("x_"), "x_")
    assert round_trip.n == merged.n and np.array_equal(round_trip.outer, merged.outer)


def test_weighted_frechet_equals_explicit_resample() -> None:
    """Bootstrap re-weighting (both the n<d and n>d paths) == recomputing on the resample."""
    for n, d in ((30, 48), (120, 16)):
        ref, x = _sets(seed=3, n=200, m=n, d=d)
        rs = FrechetStats.from_features(ref)
        rng = np.random.default_rng(0)
        counts = rng.multinomial(n, np.full(n, 1 / n), size=3)
        got = weighted_frechet_to(rs.mean, rs.cov, x, counts)
        for b in range(3):
            resample = np.repeat(x, counts[b], axis=0)
            want = rs.compute(FrechetStats.from_features(resample))
            assert got[b] == pytest.approx(want, rel=1e-7)


# --- KID ---------------------------------------------------------------------------------------


def test_kid_matches_torchmetrics() -> None:
    torch = pytest.importorskip("torch")
    kid_mod = pytest.importorskip("torchmetrics.image.kid")
    a, b = _sets(n=200, m=200)
    ref = kid_mod.poly_mmd(torch.from_numpy(a).double(), torch.from_numpy(b).double()).item()
    # one subset of the full size is a permutation of both sets: the statistic is the same
    ours = kid(a, b, subsets=1, subset_size=200)
    assert ours.mean == pytest.approx(ref, rel=1e-9)
    ka, kb = polynomial_kernel(a, a), polynomial_kernel(b, b)
    assert mmd2_unbiased(ka, polynomial_kernel(a, b), kb) == pytest.approx(ref, rel=1e-9)


def test_kid_full_metric_vs_torchmetrics_class() -> None:
    torch = pytest.importorskip("torch")
    kid_mod = pytest.importorskip("torchmetrics.image.kid")
    a, b = _sets(n=150, m=150, d=16)
    # an identity "feature extractor": the class then needs no torch-fidelity
    metric = kid_mod.KernelInceptionDistance(feature=torch.nn.Identity(), subsets=1, subset_size=150)
    metric.update(torch.from_numpy(a).double(), real=True)
    metric.update(torch.from_numpy(b).double(), real=False)
    mean, _ = metric.compute()
    assert kid(a, b, subsets=1, subset_size=150).mean == pytest.approx(mean.item(), rel=1e-9)


def test_kid_self_near_zero_and_separates() -> None:
    a, b = _sets(n=400, m=400, shift=0.5)
    same = kid(a[:200], a[200:], subsets=20, subset_size=100)
    diff = kid(a[:200], b[:200], subsets=20, subset_size=100)
    assert abs(same.mean) < 3 * same.std + 1e-3
    assert diff.mean > 10 * abs(same.mean)
    iv = kid_bootstrap(a[:200], b[:200], diff.mean, replicates=50)
    assert iv.ci_low is not None and iv.ci_low < iv.ci_high and iv.ci_low > 0


# --- CMMD --------------------------------------------------------------------------------------


def _cmmd_reference(x: np.ndarray, y: np.ndarray) -> float:
    """Straight transcription of the paper's definition (all pairs, diagonal included)."""
    def k(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        d2 = ((a[:, None, :].astype(np.float64) - b[None, :, :].astype(np.float64)) ** 2).sum(-1)
        return np.exp(-d2 / (2 * 10.0**2))

    return 1000.0 * (k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean())


def test_cmmd_matches_published_definition() -> None:
    a, b = _sets(n=80, m=70, d=24)
    a = a / np.linalg.norm(a, axis=1, keepdims=True) * 3.0
    b = b / np.linalg.norm(b, axis=1, keepdims=True) * 3.0
    assert cmmd(a, b) == pytest.approx(_cmmd_reference(a, b), rel=1e-9)
    assert abs(cmmd(a, a)) < 1e-9
    iv = cmmd_bootstrap(a, b, cmmd(a, b), replicates=40)
    assert iv.ci_low is not None and iv.ci_low <= iv.ci_high


# --- PRDC --------------------------------------------------------------------------------------


def test_prdc_matches_prdc_package() -> None:
    prdc_pkg = pytest.importorskip("prdc")
    a, b = _sets(n=180, m=150, d=16, shift=0.4)
    ref = prdc_pkg.compute_prdc(real_features=a, fake_features=b, nearest_k=5)
    ours = prdc(a, b, k=5).as_dict()
    for key in ("precision", "recall", "density", "coverage"):
        assert ours[key] == pytest.approx(float(ref[key]), abs=1e-12), key


def test_prdc_intervals_contain_point_and_self_is_high() -> None:
    a, _ = _sets(n=400, d=8)
    out = prdc_with_intervals(a[:200], a[200:], k=5, replicates=50)
    assert out["precision"].value > 0.8 and out["coverage"].value > 0.8
    for iv in out.values():
        assert iv.ci_low <= iv.value <= iv.ci_high or abs(iv.value - iv.ci_high) < 0.05
