"""Nearest-colour search (kmeans_quantize.nearest): every way to the answer gives the exact one."""

from __future__ import annotations

import numpy as np
import pytest
from kmeans_quantize import nearest as nearest_module
from kmeans_quantize.nearest import GridSearch, nearest


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
