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
