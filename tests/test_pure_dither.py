"""The numpy-free dithering (kmeans_quantize.pure_dither) against the numpy engine's.

Both follow the same rules (dither.py's docstring); from the same palette they must give the
same pixels, with alpha, transparent pixels and a selection handled alike.
"""

from __future__ import annotations

import numpy as np
import pytest
from kmeans_quantize import Palette, apply_palette, quantize
from kmeans_quantize.pure_dither import dither_labels, paint
from kmeans_quantize.pure_layers import LayerBytes
from kmeans_quantize.pure_quantize import PurePalette
from kmeans_quantize.quantize import remap
from test_pure_layers import photo

FORMATS = {1: "Y", 2: "YA", 3: "RGB", 4: "RGBA"}


def pure_palette(palette: Palette) -> PurePalette:
    colors = tuple(tuple(color) for color in palette.colors.tolist())
    return PurePalette(colors, tuple(palette.counts.tolist()), palette.color_space)


@pytest.mark.parametrize("method", ["floyd-steinberg", "ordered"])
@pytest.mark.parametrize("color_space", ["rgb", "lab", "oklab"])
@pytest.mark.parametrize(("channels", "n_colors"), [(3, 8), (3, 64), (4, 16), (1, 4), (2, 6)])
def test_dithering_gives_the_numpy_engines_pixels(
    method: str, color_space: str, channels: int, n_colors: int
) -> None:
    image = photo(41, 57, seed=channels + n_colors, channels=channels)
    if channels == 1:
        image = image[..., :1]
    palette = quantize(image, n_colors, color_space=color_space, seed=0).palette
    expected = apply_palette(image, palette, dither=method)
    pure = pure_palette(palette)
    out = paint(
        image.tobytes(),
        FORMATS[channels],
        pure,
        dither_labels(LayerBytes(image.tobytes(), 57, 41), FORMATS[channels], pure, method),
    )
    np.testing.assert_array_equal(np.frombuffer(out, np.uint8).reshape(image.shape), expected)


@pytest.mark.parametrize("method", ["floyd-steinberg", "ordered"])
def test_unselected_pixels_keep_their_bytes_and_spread_no_error(method: str) -> None:
    image = photo(30, 44, seed=9)
    coverage = np.zeros((30, 44), np.uint8)
    coverage[5:25, 8:40] = 200
    palette = quantize(image, 7, color_space="lab", seed=1).palette
    expected = apply_palette(image, palette, mask=(coverage > 0), dither=method)
    pure = pure_palette(palette)
    labels = dither_labels(LayerBytes(image.tobytes(), 44, 30, coverage.tobytes()), "RGBA", pure, method)
    out = paint(image.tobytes(), "RGBA", pure, labels)
    new = np.frombuffer(out, np.uint8).reshape(image.shape)
    np.testing.assert_array_equal(new, expected)
    untouched = (coverage == 0) | (image[..., 3] == 0)
    np.testing.assert_array_equal(new[untouched], image[untouched])


def test_an_unknown_method_is_refused() -> None:
    palette = PurePalette(((0, 0, 0), (255, 255, 255)), (1, 1), "rgb")
    with pytest.raises(ValueError, match="unknown dithering method 'bayer'"):
        dither_labels(LayerBytes(bytes(12), 2, 2), "RGB", palette, "bayer")


def test_labels_index_the_palette_as_given_and_match_remap() -> None:
    image = photo(23, 31, seed=11)
    palette = quantize(image, 9, color_space="oklab", seed=2).palette
    _, expected = remap(image, palette, dither="floyd-steinberg")
    labels = dither_labels(
        LayerBytes(image.tobytes(), 31, 23), "RGBA", pure_palette(palette), "floyd-steinberg"
    )
    np.testing.assert_array_equal(np.array(labels).reshape(23, 31), expected)
    assert -1 in labels  # the transparent band


def test_pixels_and_coverage_of_the_wrong_size_are_refused() -> None:
    palette = PurePalette(((0, 0, 0), (255, 255, 255)), (1, 1), "rgb")
    with pytest.raises(ValueError, match="pixels hold 11 bytes; 2x2 RGB pixels need 12"):
        dither_labels(LayerBytes(bytes(11), 2, 2), "RGB", palette, "ordered")
    with pytest.raises(ValueError, match="coverage holds 3 bytes; 2x2 pixels need 4"):
        dither_labels(LayerBytes(bytes(12), 2, 2, bytes(3)), "RGB", palette, "ordered")
