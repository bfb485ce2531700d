"""fixed_colors: colours that are in the palette whatever the image holds, and never move."""

from __future__ import annotations

import numpy as np
import pytest
from images import two_tone
from kmeans_quantize import Palette, apply_palette, fit_palette, quantize


def rows(colors: np.ndarray) -> set[tuple[int, ...]]:
    return {tuple(int(v) for v in row) for row in colors}


@pytest.mark.parametrize("color_space", ["rgb", "lab", "oklab"])
def test_fixed_colours_are_in_the_palette_exactly(color_space: str) -> None:
    image = two_tone()
    fixed = np.array([[255, 0, 0], [0, 255, 0]], dtype=np.uint8)  # not in the image at all
    result = quantize(image, 5, fixed_colors=fixed, seed=0, color_space=color_space)
    assert rows(fixed) <= rows(result.palette.colors)
    assert len(result.palette) <= 5
    # Unused fixed colours stay, with a count of zero.
    counts = {
        tuple(int(v) for v in c): n for c, n in zip(result.palette.colors, result.palette.counts, strict=True)
    }
    assert counts[(255, 0, 0)] == 0 and counts[(0, 255, 0)] == 0
    assert sum(counts.values()) == image.shape[0] * image.shape[1]


def test_the_other_colours_are_fitted_around_the_fixed_ones() -> None:
    image = two_tone(1)
    dark_mean = image[:, :30].reshape(-1, 3).mean(axis=0)
    light_mean = image[:, 30:].reshape(-1, 3).mean(axis=0)
    fixed = np.rint(dark_mean).astype(np.uint8)[None, :]
    palette = fit_palette(image, 2, fixed_colors=fixed, seed=0)
    assert rows(fixed) <= rows(palette.colors)
    free = [c for c in palette.colors if tuple(c) != tuple(fixed[0])]
    assert len(free) == 1
    # The free colour takes the other half: its mean, to rounding.
    np.testing.assert_allclose(free[0], light_mean, atol=0.51)


def test_as_many_fixed_colours_as_n_colors_is_a_plain_remap() -> None:
    image = two_tone(2)
    fixed = np.array([[0, 0, 0], [255, 255, 255], [200, 100, 50]], dtype=np.uint8)
    result = quantize(image, 3, fixed_colors=fixed, seed=0)
    assert rows(result.palette.colors) == rows(fixed)
    expected = apply_palette(image, Palette(fixed))
    np.testing.assert_array_equal(result.image, expected)


def test_few_colours_plus_fixed_colours_keep_the_image_unchanged() -> None:
    image = np.zeros((4, 4, 3), dtype=np.uint8)
    image[:2] = (10, 20, 30)
    image[2:] = (200, 210, 220)
    fixed = np.array([[255, 0, 0]], dtype=np.uint8)
    result = quantize(image, 4, fixed_colors=fixed, seed=0)
    np.testing.assert_array_equal(result.image, image)
    assert rows(result.palette.colors) == {(10, 20, 30), (200, 210, 220), (255, 0, 0)}


def test_fixed_colours_for_gray_and_float_images() -> None:
    gray = np.linspace(0, 1, 400, dtype=np.float32).reshape(20, 20)
    result = quantize(gray, 4, fixed_colors=np.array([[0.5]]), seed=0)
    assert 0.5 in result.palette.colors[:, 0]
    assert result.palette.colors.dtype == np.float32


@pytest.mark.parametrize(
    ("fixed", "message"),
    [
        (np.array([[0, 0, 0, 0]]), "shape"),
        (np.array([0, 0, 0]), "shape"),
        (np.array([[0, 0, 300]]), "lie in"),
        (np.array([[0, 0, -1]]), "lie in"),
        (np.array([[0.5, 0, 0]]), "whole numbers"),
        (np.array([[1, 2, 3], [1, 2, 3]]), "twice"),
        (np.zeros((5, 3)) + np.arange(5)[:, None], "do not fit"),
        (np.array([[np.nan, 0, 0]]), "finite"),
    ],
)
def test_bad_fixed_colours_are_refused(fixed: np.ndarray, message: str) -> None:
    image = two_tone()
    before = image.copy()
    with pytest.raises(ValueError, match=message):
        quantize(image, 4, fixed_colors=fixed)
    np.testing.assert_array_equal(image, before)


def test_init_array_gives_the_free_colours_only() -> None:
    image = two_tone(3)
    fixed = np.array([[0, 0, 0]], dtype=np.uint8)
    with pytest.raises(ValueError, match=r"shape \(2, 3\)"):
        quantize(image, 3, fixed_colors=fixed, init=np.zeros((3, 3)))
    result = quantize(image, 3, fixed_colors=fixed, init=np.array([[30, 40, 90], [230, 180, 120]]))
    assert (0, 0, 0) in rows(result.palette.colors)


def noisy_navy(dtype: np.dtype) -> np.ndarray:
    """Navy with noise: many distinct colours that all fall in one 10-bit histogram cell.

    The 10-bit cell of 16-bit value v is v >> 6, so 960 + 0..63 is cell 15, 1984 + 0..63 cell
    31 and 29952 + 0..63 cell 468; scaled to [0, 1] the values stay in the same cells. 256
    pixels: a power of two, so the cell's weighted mean is exact.
    """
    rng = np.random.default_rng(5)
    image = (np.array([960, 1984, 29952]) + rng.integers(0, 64, (16, 16, 3))).astype(np.uint16)
    return image if dtype == np.uint16 else (image / 65535).astype(dtype)


@pytest.mark.parametrize("dtype", [np.dtype(np.uint16), np.dtype(np.float32), np.dtype(np.float64)], ids=str)
def test_a_fixed_colour_does_not_replace_the_fitted_one_in_a_deep_image(dtype: np.dtype) -> None:
    image = noisy_navy(dtype)
    white = np.full((1, 3), 65535 if dtype == np.uint16 else 1.0, dtype=dtype)
    result = quantize(image, 2, fixed_colors=white, seed=0)
    # The fixed colour is there, exactly, and unused: every pixel is far nearer navy.
    assert rows(white) <= rows(result.palette.colors)
    assert result.palette.counts[result.palette.colors.tolist().index(white[0].tolist())] == 0
    # The other colour is the navy pixels' mean (to one step of the dtype): the image stays
    # navy (it came out all white, 2 dB PSNR, when the fixed colour overwrote the fitted one).
    step = 1.0 if dtype == np.uint16 else 1 / 65535
    navy = result.palette.colors[0]
    np.testing.assert_allclose(navy, image.reshape(-1, 3).astype(np.float64).mean(axis=0), atol=step)
    np.testing.assert_array_equal(result.image, np.broadcast_to(navy, image.shape))
