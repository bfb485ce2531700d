"""Dithering: exact agreement with plain per-pixel references, and what dithering is for.

The references below walk the image pixel by pixel with Python floats (IEEE
float64, like numpy) and the same arithmetic order as the module docstring of kmeans_quantize.dither, so
the vectorised implementation must match them label for label.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from images import smooth_image
from kmeans_quantize import nearest as nearest_module
from kmeans_quantize.dither import DITHER_METHODS, bayer_thresholds, dither_labels
from kmeans_quantize.nearest import GridSearch, nearest

# Bayer's 8x8 index matrix as usually printed (not built the way the module builds it).
BAYER = np.array(
    [
        [0, 32, 8, 40, 2, 34, 10, 42],
        [48, 16, 56, 24, 50, 18, 58, 26],
        [12, 44, 4, 36, 14, 46, 6, 38],
        [60, 28, 52, 20, 62, 30, 54, 22],
        [3, 35, 11, 43, 1, 33, 9, 41],
        [51, 19, 59, 27, 49, 17, 57, 25],
        [15, 47, 7, 39, 13, 45, 5, 37],
        [63, 31, 55, 23, 61, 29, 53, 21],
    ]
)

Bounds = tuple[np.ndarray, np.ndarray] | None


def reference_nearest(value: list[float], palette: list[list[float]]) -> int:
    """Nearest colour by direct squared distance, channel by channel; ties to the lowest index."""
    best, best_sq = -1, 0.0
    for j, color in enumerate(palette):
        sq = 0.0
        for v, c in zip(value, color, strict=True):
            sq += (v - c) * (v - c)
        if best < 0 or sq < best_sq:
            best, best_sq = j, sq
    return best


def clamp(value: list[float], bounds: Bounds) -> list[float]:
    if bounds is None:
        return value
    return [min(max(v, float(lo)), float(hi)) for v, lo, hi in zip(value, *bounds, strict=True)]


def reference_floyd_steinberg(
    points: np.ndarray, palette: np.ndarray, active: np.ndarray, bounds: Bounds
) -> np.ndarray:
    """Raster order; own + 7/16 left + 3/16 upper right + 5/16 upper + 1/16 upper left.

    A neighbour outside the image or inactive contributes nothing.
    """
    height, width, _ = points.shape
    colors = palette.tolist()
    errors: dict[tuple[int, int], list[float]] = {}
    labels = np.full((height, width), -1)
    for y in range(height):
        for x in range(width):
            if not active[y, x]:
                continue
            value = points[y, x].tolist()
            for dy, dx, weight in ((0, -1, 7 / 16), (-1, 1, 3 / 16), (-1, 0, 5 / 16), (-1, -1, 1 / 16)):
                error = errors.get((y + dy, x + dx))
                if error is not None:
                    value = [v + weight * e for v, e in zip(value, error, strict=True)]
            value = clamp(value, bounds)
            j = reference_nearest(value, colors)
            labels[y, x] = j
            errors[(y, x)] = [v - c for v, c in zip(value, colors[j], strict=True)]
    return labels


def reference_ordered(
    points: np.ndarray, palette: np.ndarray, active: np.ndarray, bounds: Bounds
) -> np.ndarray:
    """Add (b + 0.5) / 64 - 0.5 times the local spread to every channel, then take the nearest.

    Local spread: distance from the pixel's nearest colour to that colour's
    nearest other colour, over sqrt(D).
    """
    height, width, depth = points.shape
    colors = palette.tolist()
    gaps = []
    for j, color in enumerate(colors):
        sqs = [sum((a - b) * (a - b) for a, b in zip(color, other, strict=True)) for other in colors]
        others = [sq for i, sq in enumerate(sqs) if i != j]
        gaps.append(math.sqrt(min(others)) / math.sqrt(depth) if others else 0.0)
    labels = np.full((height, width), -1)
    for y in range(height):
        for x in range(width):
            if active[y, x]:
                pixel = points[y, x].tolist()
                offset = gaps[reference_nearest(pixel, colors)] * ((BAYER[y % 8, x % 8] + 0.5) / 64 - 0.5)
                labels[y, x] = reference_nearest(clamp([p + offset for p in pixel], bounds), colors)
    return labels


def random_palette(rng: np.random.Generator, k: int, depth: int, integer: bool) -> np.ndarray:
    colors = rng.uniform(0, 255, (k, depth))
    if integer:
        colors = np.rint(colors)
        if k > 3:
            colors[-1] = colors[1]  # a duplicate: exact ties everywhere near it
    return colors


CASES = [
    pytest.param(
        depth,
        k,
        masked,
        bounded,
        id=f"D{depth}-K{k}-{'mask' if masked else 'all'}-{'bounds' if bounded else 'free'}",
    )
    for depth in (1, 3)
    for k in (1, 2, 7, 16, 64)
    for masked in (False, True)
    for bounded in (False, True)
]


def case_inputs(depth: int, k: int, masked: bool, bounded: bool) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng([depth, k, masked, bounded])
    integer = (k + masked) % 2 == 0
    height, width = (19, 23) if k != 7 else (29, 2)
    points = smooth_image(rng, height, width, depth, integer)
    palette = random_palette(rng, k, depth, integer)
    active = rng.random((height, width)) > 0.3 if masked else np.ones((height, width), dtype=bool)
    bounds = (np.zeros(depth), np.full(depth, 255.0)) if bounded else None
    return points, palette, active, bounds


@pytest.mark.parametrize(("depth", "k", "masked", "bounded"), CASES)
def test_floyd_steinberg_matches_reference(depth: int, k: int, masked: bool, bounded: bool) -> None:
    points, palette, active, bounds = case_inputs(depth, k, masked, bounded)
    labels = dither_labels(points, palette, active, "floyd-steinberg", bounds)
    np.testing.assert_array_equal(labels, reference_floyd_steinberg(points, palette, active, bounds))


@pytest.mark.parametrize(("depth", "k", "masked", "bounded"), CASES)
def test_ordered_matches_reference(depth: int, k: int, masked: bool, bounded: bool) -> None:
    points, palette, active, bounds = case_inputs(depth, k, masked, bounded)
    labels = dither_labels(points, palette, active, "ordered", bounds)
    np.testing.assert_array_equal(labels, reference_ordered(points, palette, active, bounds))


def test_floyd_steinberg_order_of_additions() -> None:
    """The value is own + 7/16 left + 3/16 upper right + 5/16 upper + 1/16 upper left, in that order.

    Pixel (1, 1) is put exactly on the midpoint between the two palette colours
    as that order rounds it, so it takes colour 0 (the tie rule); summed in
    another order it rounds a little higher, to colour 1.
    """
    image = np.random.default_rng(16).uniform(0, 0.4, (2, 3))
    # Every other pixel maps to colour 0, so its error is its value.
    e00 = image[0, 0]
    e01 = image[0, 1] + 7 / 16 * e00
    e02 = image[0, 2] + 7 / 16 * e01
    e10 = image[1, 0] + 3 / 16 * e01 + 5 / 16 * e00
    value = image[1, 1] + 7 / 16 * e10 + 3 / 16 * e02 + 5 / 16 * e01 + 1 / 16 * e00
    assert image[1, 1] + (7 / 16 * e10 + 3 / 16 * e02 + 5 / 16 * e01 + 1 / 16 * e00) > value
    assert image[1, 1] + 1 / 16 * e00 + 5 / 16 * e01 + 3 / 16 * e02 + 7 / 16 * e10 > value
    palette = np.array([[0.0], [2 * value]])
    active = np.ones((2, 3), dtype=bool)
    labels = dither_labels(image[:, :, None], palette, active, "floyd-steinberg")
    assert labels[1, 1] == 0
    np.testing.assert_array_equal(labels, reference_floyd_steinberg(image[:, :, None], palette, active, None))


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (7, 2), (2, 7), (3, 3)])
def test_floyd_steinberg_thin_images(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(shape)
    points = rng.uniform(0, 255, (*shape, 3))
    palette = random_palette(rng, 5, 3, integer=False)
    active = np.ones(shape, dtype=bool)
    labels = dither_labels(points, palette, active, "floyd-steinberg")
    np.testing.assert_array_equal(labels, reference_floyd_steinberg(points, palette, active, None))


def test_grid_is_used_by_the_reference_cases() -> None:
    """The exactness cases above go through the candidate grid, not only the full search."""
    points, palette, _, _ = case_inputs(3, 64, False, False)
    search = GridSearch.over(palette, points.min(axis=(0, 1)), points.max(axis=(0, 1)), 30.0)
    assert search.grid is not None


@pytest.mark.parametrize("method", DITHER_METHODS)
def test_tiny_chunks(method: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Searches split into many chunks (as with a large palette) give the same labels."""
    monkeypatch.setattr(nearest_module, "CHUNK_ELEMENTS", 40)
    points, palette, active, bounds = case_inputs(3, 64, True, True)
    reference = reference_floyd_steinberg if method == "floyd-steinberg" else reference_ordered
    np.testing.assert_array_equal(
        dither_labels(points, palette, active, method, bounds), reference(points, palette, active, bounds)
    )


@pytest.mark.parametrize("method", DITHER_METHODS)
@pytest.mark.parametrize("depth", [1, 3])
def test_inactive_pixels_get_minus_one(method: str, depth: int) -> None:
    rng = np.random.default_rng(depth)
    points = smooth_image(rng, 24, 20, depth, integer=True)
    palette = random_palette(rng, 12, depth, integer=True)
    active = rng.random((24, 20)) > 0.4
    labels = dither_labels(points, palette, active, method)
    np.testing.assert_array_equal(labels == -1, ~active)
    assert labels[active].max() < 12
    none = dither_labels(points, palette, np.zeros((24, 20), dtype=bool), method)
    assert (none == -1).all()


@pytest.mark.parametrize("method", DITHER_METHODS)
@pytest.mark.parametrize("depth", [1, 3])
@pytest.mark.parametrize("bounded", [False, True])
def test_flat_palette_colour_stays(method: str, depth: int, bounded: bool) -> None:
    """A flat area already in the palette is left alone, even with uneven gaps between colours."""
    rng = np.random.default_rng([depth, bounded])
    palette = rng.uniform(0, 255, (9, depth))
    palette[1] = palette[0] + 3.0  # a close pair: a spread from the mean gap would flicker here
    bounds = (np.zeros(depth), np.full(depth, 255.0)) if bounded else None
    for j, color in enumerate(palette):
        points = np.broadcast_to(color, (17, 19, depth)).copy()
        labels = dither_labels(points, palette, np.ones((17, 19), dtype=bool), method, bounds)
        assert (labels == j).all(), (j, np.unique(labels))


@pytest.mark.parametrize("depth", [1, 3])
def test_floyd_steinberg_keeps_the_mean_colour(depth: int) -> None:
    """On a gray ramp, column means of the dithered image follow the ramp; nearest mapping cannot."""
    ramp = np.linspace(0, 255, 200)
    points = np.repeat(np.broadcast_to(ramp[None, :, None], (60, 200, 1)), depth, axis=2).copy()
    palette = np.repeat(np.array([[0.0], [85.0], [170.0], [255.0]]), depth, axis=1)
    active = np.ones((60, 200), dtype=bool)
    dithered = palette[dither_labels(points, palette, active, "floyd-steinberg")][..., 0]
    plain = palette[nearest(points.reshape(-1, depth), palette)].reshape(60, 200, depth)[..., 0]
    # Means over blocks of 10 columns (the error spreads rightwards and down, not across the ramp).
    blocks = ramp.reshape(20, 10).mean(axis=1)
    dithered_error = np.abs(dithered.reshape(60, 20, 10).mean(axis=(0, 2)) - blocks).mean()
    plain_error = np.abs(plain.reshape(60, 20, 10).mean(axis=(0, 2)) - blocks).mean()
    assert dithered_error < 3.0
    assert plain_error > 15.0
    assert abs(dithered.mean() - ramp.mean()) < 1.0


@pytest.mark.parametrize("depth", [1, 3])
def test_ordered_uses_the_bayer_pattern(depth: int) -> None:
    """Flat 100 between black and white: white where the threshold passes 127.5, period 8."""
    palette = np.array([[0.0] * depth, [255.0] * depth])
    points = np.full((20, 27, depth), 100.0)
    labels = dither_labels(points, palette, np.ones((20, 27), dtype=bool), "ordered")
    tile = labels[:8, :8]
    # Spread 255 (the gap over sqrt(D), per channel): white iff 100 + 255 t > 127.5.
    np.testing.assert_array_equal(tile, ((BAYER + 0.5) / 64 - 0.5) * 255 + 100 > 127.5)
    assert tile.sum() == 25  # about 100 / 255 of 64
    rows, cols = np.indices(labels.shape)
    np.testing.assert_array_equal(labels, tile[rows % 8, cols % 8])
    np.testing.assert_array_equal(np.rint((bayer_thresholds() + 0.5) * 64 - 0.5), BAYER)


@pytest.mark.parametrize("method", DITHER_METHODS)
def test_deterministic(method: str) -> None:
    rng = np.random.default_rng(3)
    points = smooth_image(rng, 40, 50, 3, integer=False)
    palette = random_palette(rng, 32, 3, integer=False)
    active = np.ones((40, 50), dtype=bool)
    first = dither_labels(points, palette, active, method)
    np.testing.assert_array_equal(first, dither_labels(points.copy(), palette.copy(), active, method))


def test_bad_arguments() -> None:
    points, palette, active = np.zeros((4, 5, 3)), np.zeros((2, 3)), np.ones((4, 5), dtype=bool)
    with pytest.raises(ValueError, match="unknown dithering method"):
        dither_labels(points, palette, active, "atkinson")
    with pytest.raises(ValueError, match="palette_points"):
        dither_labels(points, np.zeros((2, 1)), active, "ordered")
    with pytest.raises(ValueError, match="active"):
        dither_labels(points, palette, np.ones((5, 4), dtype=bool), "ordered")
    with pytest.raises(ValueError, match="finite"):
        dither_labels(np.full((4, 5, 3), np.nan), palette, active, "floyd-steinberg")
    with pytest.raises(ValueError, match="low <= high"):
        dither_labels(points, palette, active, "ordered", (np.ones(3), np.zeros(3)))
