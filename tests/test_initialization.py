"""Where k-means starts (kmeans_quantize.initialization): the coarse-to-fine start changes no result."""

from __future__ import annotations

import numpy as np
import pytest
from kmeans_quantize import initialization
from kmeans_quantize.initialization import (
    GRID_REDUCTION,
    GRIDS,
    SPLIT_MERGE_MAX_CLUSTERS,
    SPLIT_MERGE_POINTS,
    coarse_to_fine_start,
    coarsen,
)
from kmeans_quantize.kmeans import Stopping, WeightedPoints, lloyd
from kmeans_quantize.options import Options


@pytest.mark.parametrize("k", [8, 40])
def test_starting_from_the_coarse_grids_assignment_changes_no_lloyd_step(k: int) -> None:
    # Integer colours dense near a surface, as a large photo's: every grid merges them.
    rng = np.random.default_rng(k)
    x, y = np.meshgrid(np.arange(256), np.arange(256))
    points = np.concatenate(
        [np.stack([x.ravel(), y.ravel(), (x.ravel() + y.ravel()) // 2 + dz], axis=1) for dz in range(4)]
    ).astype(np.float64)
    data = WeightedPoints(points, rng.integers(1, 20, len(points)).astype(np.float64))
    for cells in GRIDS:  # the test must exercise every grid
        assert len(coarsen(data, cells)[0]) * GRID_REDUCTION <= len(data)
    centers, start = coarse_to_fine_start(data, Options.from_keywords(k, init="k-means++", tol=0.1), rng)
    # The inherited labels and margins are only a shortcut: starting from a full search
    # instead must give the same iterations, bit for bit.
    inherited = lloyd(data, centers, stop=Stopping(max_iter=40, tol=0.0), start=start)
    fresh = lloyd(data, centers, stop=Stopping(max_iter=40, tol=0.0))
    assert inherited.n_iter == fresh.n_iter
    np.testing.assert_array_equal(inherited.centers, fresh.centers)
    np.testing.assert_array_equal(inherited.labels, fresh.labels)


@pytest.mark.parametrize(
    ("k", "refined"),
    [(SPLIT_MERGE_MAX_CLUSTERS, True), (SPLIT_MERGE_MAX_CLUSTERS + 1, False)],
    ids=["at-the-cap", "above-the-cap"],
)
def test_split_merge_refines_the_start_only_up_to_its_palette_size_cap(
    k: int, refined: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fewer points than a grid is built for, and enough per cluster: only the cap decides.
    rng = np.random.default_rng(k)
    n_points = SPLIT_MERGE_POINTS * (SPLIT_MERGE_MAX_CLUSTERS + 1) + 100
    data = WeightedPoints(rng.integers(0, 256, (n_points, 3)).astype(np.float64), np.ones(n_points))
    assert n_points <= initialization.COARSE_POINTS
    runs = []

    def recorded(*args: object, **kwargs: object) -> object:
        runs.append(k)
        return real(*args, **kwargs)

    real = initialization.split_merge
    monkeypatch.setattr(initialization, "split_merge", recorded)
    coarse_to_fine_start(data, Options.from_keywords(k, init="k-means++", tol=0.1, max_iter=5), rng)
    assert bool(runs) is refined


def plain_kmeans_plusplus(
    points: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator
) -> np.ndarray:
    """Greedy k-means++ written plainly: every candidate against every point at once.

    Its potentials are summed in one piece, the library's block by block: they differ by
    rounding only, far less than the gaps between candidates, so the picks are the same.
    """
    n_trials = 2 + int(np.log(k))
    centers = [points[rng.choice(len(points), p=weights / weights.sum())]]
    closest = ((points - centers[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        cumulative = np.cumsum(weights * closest)
        targets = rng.random(n_trials) * cumulative[-1]
        candidates = np.minimum(np.searchsorted(cumulative, targets, side="right"), len(points) - 1)
        reached = [np.minimum(closest, ((points - points[c]) ** 2).sum(axis=1)) for c in candidates]
        trial = int(np.argmin([np.sum(weights * r) for r in reached]))
        centers.append(points[candidates[trial]])
        closest = reached[trial]
    return np.array(centers)


@pytest.mark.parametrize(
    ("n_points", "n_dims", "k"),
    [(3000, 3, 40), (40_000, 3, 8), (300, 1, 12)],
    ids=["rgb-one-block", "rgb-two-blocks", "gray"],
)
def test_kmeans_plusplus_picks_the_centres_a_plain_implementation_picks(
    n_points: int, n_dims: int, k: int
) -> None:
    rng = np.random.default_rng(n_points)
    points = rng.integers(0, 256, (n_points, n_dims)).astype(np.float64)
    weights = rng.integers(1, 30, n_points).astype(np.float64)
    blocks = len(list(initialization.row_chunks(n_points, 2 + int(np.log(k)))))
    assert (blocks > 1) == (n_points == 40_000)  # both ways through the blocks are exercised
    seeded = initialization.init_kmeans_plusplus(WeightedPoints(points, weights), k, np.random.default_rng(7))
    np.testing.assert_array_equal(seeded, plain_kmeans_plusplus(points, weights, k, np.random.default_rng(7)))
