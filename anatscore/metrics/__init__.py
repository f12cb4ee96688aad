"""Set-level realism metrics (one module each) and their run-time plumbing.

- :mod:`.frechet`: Fréchet distance (FID): streaming :class:`~.frechet.FrechetStats`
  (count, sum, sum of outer products in float64; ``update``/``merge``/``compute``) and the pure
  twin :func:`~.frechet.frechet_distance_features`.
- :mod:`.kid`: KID, unbiased polynomial-kernel MMD² over subsets (torchmetrics' definition).
- :mod:`.cmmd`: CMMD, Gaussian-RBF MMD on CLIP embeddings (Jayasumana et al. 2024).
- :mod:`.prdc`: precision / recall / density / coverage (Naeem et al. 2020, k = 5).
- :mod:`.bootstrap`: percentile intervals from resampling the generated set.
- :mod:`.knn`: chunked distances and k-NN radii.
- :mod:`.store`: disk-backed, resume-safe per-image feature store.
- :mod:`.reference`: reference sets (build, cache, stale checks).
- :mod:`.realism`: one stratum's metric block and per-image realism scores.
- :mod:`.run`: :class:`~.run.RunMetrics`, the runner's hook that writes ``metrics.json``.
"""
