"""Colour histograms (kmeans_quantize.histogram): both ways of counting give np.unique's answer."""

from __future__ import annotations

import numpy as np
import pytest
from kmeans_quantize.histogram import _DENSE_MIN_PIXELS, color_histogram


def _reference(colors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    unique, inverse, counts = np.unique(colors, axis=0, return_inverse=True, return_counts=True)
    return unique, counts, inverse.reshape(-1)


def _assert_sorted_histogram_is_numpy_unique(colors: np.ndarray) -> None:
    hist = color_histogram(colors)
    unique, counts, inverse = _reference(colors)
    np.testing.assert_array_equal(hist.colors, unique)
    np.testing.assert_array_equal(hist.counts, counts)
    np.testing.assert_array_equal(hist.inverse, inverse)


@pytest.mark.parametrize("n_channels", [1, 3])
@pytest.mark.parametrize("high", [4, 64, 256], ids=["few-colours", "some-colours", "every-value"])
def test_sorted_histogram_equals_numpy_unique(n_channels: int, high: int) -> None:
    rng = np.random.default_rng(high)
    _assert_sorted_histogram_is_numpy_unique(rng.integers(0, high, (20_000, n_channels), dtype=np.uint8))


def test_sorted_histogram_orders_by_every_byte_of_the_key() -> None:
    # Colours that differ only in the red (most significant) or only in the blue channel: the
    # radix sort's two passes (low 16 bits, then the high 8) must both count.
    colors = np.array(
        [[255, 0, 0], [0, 0, 255], [0, 0, 0], [0, 255, 0], [255, 0, 0], [1, 0, 0]], dtype=np.uint8
    )
    _assert_sorted_histogram_is_numpy_unique(colors)


def test_dense_histogram_equals_numpy_unique() -> None:
    rng = np.random.default_rng(2)
    small = rng.integers(0, 64, (5000, 3), dtype=np.uint8)
    # Repeat the rows until the dense (counting) path is taken.
    repeats = -(-_DENSE_MIN_PIXELS // len(small))
    large = np.tile(small, (repeats, 1))
    dense_path = color_histogram(large)
    unique, counts, inverse = _reference(small)
    np.testing.assert_array_equal(dense_path.colors, unique)
    np.testing.assert_array_equal(dense_path.counts, counts * repeats)
    np.testing.assert_array_equal(dense_path.inverse, np.tile(inverse, repeats))
