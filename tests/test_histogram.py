"""Colour histograms (kmeans_quantize.histogram): both ways of counting agree."""

from __future__ import annotations

import numpy as np
from kmeans_quantize.histogram import _DENSE_MIN_PIXELS, color_histogram


def test_dense_and_sorted_histograms_are_identical() -> None:
    rng = np.random.default_rng(2)
    small = rng.integers(0, 64, (5000, 3), dtype=np.uint8)
    # Repeat the rows until the dense (counting) path is taken.
    repeats = -(-_DENSE_MIN_PIXELS // len(small))
    large = np.tile(small, (repeats, 1))
    sorted_path = color_histogram(small)
    dense_path = color_histogram(large)
    np.testing.assert_array_equal(dense_path.colors, sorted_path.colors)
    np.testing.assert_array_equal(dense_path.counts, sorted_path.counts * repeats)
    np.testing.assert_array_equal(dense_path.inverse, np.tile(sorted_path.inverse, repeats))
    np.testing.assert_array_equal(sorted_path.colors[sorted_path.inverse], small)
