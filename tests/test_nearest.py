"""Nearest-colour search (kmeans_quantize.nearest): every way to the answer gives the exact one."""

from __future__ import annotations

import numpy as np
import pytest
from kmeans_quantize import nearest as nearest_module
from kmeans_quantize.nearest import CenterNeighbors, GridSearch, nearest, nearest_full, search_near


@pytest.mark.parametrize("depth", [1, 3])
@pytest.mark.parametrize("max_pairs", [1 << 19, 1 << 9])
def test_grid_search_equals_full_search(depth: int, max_pairs: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Adversarial points: exact ties, duplicates, cell edges, points outside the grid.

    A small ``_MAX_PAIRS`` forces several coarse-to-fine levels, built in many groups.
    """
    monkeypatch.setattr(nearest_module, "_MAX_PAIRS", max_pairs)
    rng = np.random.default_rng(depth)
    palette = rng.integers(0, 64, (200, depth)).astype(np.float64)
    palette[150:] = palette[:50]
    low, high = np.zeros(depth), np.full(depth, 63.0)
    search = GridSearch.over(palette, low, high, 6.0)
    assert search.grid is not None
    grid = search.grid
    edges = grid.origin + rng.integers(0, 40, (500, depth)) / grid.inv_width
    pairs = rng.integers(0, 200, (2000, 2))
    midpoints = (palette[pairs[:, 0]] + palette[pairs[:, 1]]) / 2
    points = np.concatenate(
        [
            rng.integers(0, 64, (3000, depth)).astype(np.float64),
            midpoints,
            edges,
            rng.uniform(-40, 100, (1000, depth)),
        ]
    )
    # The reference rule, vectorised: channel by channel in order, first minimum.
    sq = (points[:, None, 0] - palette[None, :, 0]) ** 2
    for channel in range(1, depth):
        sq += (points[:, None, channel] - palette[None, :, channel]) ** 2
    expected = sq.argmin(axis=1)
    np.testing.assert_array_equal(search(points), expected)
    np.testing.assert_array_equal(nearest(points, palette), expected)


@pytest.mark.parametrize("n_dims", [1, 3])
def test_search_from_a_guess_matches_a_full_search(n_dims: int) -> None:
    rng = np.random.default_rng(5)
    points = rng.integers(0, 256, (5000, n_dims)).astype(np.float64)
    centers = rng.integers(0, 256, (300, n_dims)).astype(np.float64)
    centers = np.unique(centers, axis=0)
    full = nearest_full(points, centers)
    # Integer data: check that ties exist, so tie-breaking is really exercised.
    assert (full.nearest_distance == full.runner_up_distance).any()
    guess = rng.integers(0, len(centers), len(points))
    own = np.sqrt(((points - centers[guess]) ** 2).sum(axis=1))
    found = search_near(points, CenterNeighbors.of(centers), guess, own)
    np.testing.assert_array_equal(found.labels, full.labels)
    np.testing.assert_allclose(found.nearest_distance, full.nearest_distance)
    # The bounds are valid: the runner-up is at the distance given, and no
    # other centre is closer than `rest`.
    all_dist = np.sqrt(((points[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2))
    rows = np.arange(len(points))
    np.testing.assert_allclose(all_dist[rows, found.runner_up], found.runner_up_distance)
    assert (found.runner_up != found.labels).all()
    all_dist[rows, found.labels] = np.inf
    all_dist[rows, found.runner_up] = np.inf
    assert (all_dist.min(axis=1) >= found.rest - 1e-9).all()
    assert (found.runner_up_distance >= found.nearest_distance).all()
    full_labels = full.labels
    np.testing.assert_array_equal(nearest(points, centers, guess), full_labels)
