"""Palette.sorted / save / load are the palette_io functions, reachable from the class."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from kmeans_quantize import Palette, fit_palette
from kmeans_quantize.palette_io import load_palette, sort_palette


@pytest.fixture
def palette() -> Palette:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)
    return fit_palette(image, 7, seed=0)


@pytest.mark.parametrize("by", ["frequency", "luminance", "hue"])
def test_sorted_is_sort_palette(palette: Palette, by: str) -> None:
    np.testing.assert_array_equal(palette.sorted(by).colors, sort_palette(palette, by).colors)
    np.testing.assert_array_equal(palette.sorted(by).counts, sort_palette(palette, by).counts)


@pytest.mark.parametrize("suffix", [".gpl", ".hex", ".json"])
def test_save_then_load_round_trips(palette: Palette, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"p{suffix}"
    palette.save(path)
    loaded = Palette.load(path)
    np.testing.assert_array_equal(loaded.colors, palette.colors)
    np.testing.assert_array_equal(loaded.colors, load_palette(path).colors)


def test_to_gray_keeps_one_channel_of_an_all_gray_rgb_palette() -> None:
    rgb = Palette(np.array([[10, 10, 10], [200, 200, 200]], dtype=np.uint16), [3, 4], color_space="oklab")
    gray = rgb.to_gray()
    np.testing.assert_array_equal(gray.colors, [[10], [200]])
    assert gray.colors.dtype == np.uint16
    np.testing.assert_array_equal(gray.counts, [3, 4])
    assert gray.color_space == "oklab"
    assert gray.to_gray() is gray


@pytest.mark.parametrize(
    ("colors", "shown"),
    [
        pytest.param(np.array([[0, 0, 0], [255, 0, 0]], dtype=np.uint8), "#ff0000", id="uint8"),
        pytest.param(
            np.array([[0, 0, 0], [65535, 65535, 65534]], dtype=np.uint16),
            r"\(65535, 65535, 65534\)",
            id="uint16",
        ),
    ],
)
def test_to_gray_refuses_a_colour_that_is_not_gray(colors: np.ndarray, shown: str) -> None:
    with pytest.raises(
        ValueError,
        match=rf"^a gray image needs gray colours \(R = G = B\); the palette has colour {shown} \(entry 1\)$",
    ):
        Palette(colors).to_gray()
