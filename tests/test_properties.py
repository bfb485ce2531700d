"""Properties of quantize that hold for any image, checked with hypothesis.

Images are 1..12 x 1..12, gray (H, W) or with 1, 2, 3 or 4 channels, in each supported
dtype; their values are either anything in range or drawn from a few values (so that
repeated colours, few-colour images and exact ties are common). Alpha channels get
fully transparent pixels, and some draws add a mask.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from kmeans_quantize import Palette, apply_palette, fit_palette, quantize

DTYPES = [np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32), np.dtype(np.float64)]
CHANNELS = [None, 1, 2, 3, 4]  # None: a 2-D gray image
SPACES = ["rgb", "lab", "oklab"]

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def value_strategy(dtype: np.dtype) -> st.SearchStrategy:
    if dtype.kind == "u":
        return st.integers(0, int(np.iinfo(dtype).max))
    return st.floats(0.0, 1.0, width=8 * dtype.itemsize, allow_nan=False, allow_infinity=False)


@st.composite
def images(draw: st.DrawFn) -> tuple[np.ndarray, int, np.ndarray | None]:
    """(pixels, number of colour channels, mask or None)."""
    dtype = draw(st.sampled_from(DTYPES))
    channels = draw(st.sampled_from(CHANNELS))
    height = draw(st.integers(1, 12))
    width = draw(st.integers(1, 12))
    shape = (height, width) if channels is None else (height, width, channels)
    values = value_strategy(dtype)
    if draw(st.booleans()):
        values = st.sampled_from(draw(st.lists(values, min_size=1, max_size=4, unique=True)))
    pixels = draw(arrays(dtype, shape, elements=values))
    if channels in (2, 4):
        transparent = draw(arrays(np.bool_, (height, width), elements=st.booleans()))
        pixels[..., -1][transparent] = 0
    mask = draw(st.none() | arrays(np.bool_, (height, width), elements=st.booleans()))
    n_color = 3 if channels in (3, 4) else 1
    return pixels, n_color, mask


def rows_of(image: np.ndarray) -> np.ndarray:
    return image.reshape(image.shape[0] * image.shape[1], -1)


def selection(pixels: np.ndarray, n_color: int, mask: np.ndarray | None) -> np.ndarray:
    rows = rows_of(pixels)
    selected = np.ones(rows.shape[0], dtype=bool)
    if mask is not None:
        selected &= mask.reshape(-1)
    if rows.shape[1] > n_color:
        selected &= rows[:, -1] != 0
    return selected


@SETTINGS
@given(
    image=images(), n_colors=st.integers(1, 10), color_space=st.sampled_from(SPACES), seed=st.integers(0, 3)
)
def test_quantize_properties(image, n_colors, color_space, seed) -> None:
    pixels, n_color, mask = image
    before = pixels.copy()
    selected = selection(pixels, n_color, mask)
    if not selected.any():
        with pytest.raises(ValueError, match="no pixel"):
            quantize(pixels, n_colors, color_space=color_space, seed=seed, mask=mask)
        np.testing.assert_array_equal(pixels, before)
        return

    result = quantize(pixels, n_colors, color_space=color_space, seed=seed, mask=mask)
    image_out, palette, labels = result.image, result.palette, result.labels
    np.testing.assert_array_equal(pixels, before)

    # Shape, dtype and range.
    assert image_out.shape == pixels.shape
    assert image_out.dtype == pixels.dtype
    assert labels.shape == pixels.shape[:2]
    if pixels.dtype.kind == "f":
        assert np.isfinite(image_out).all() and image_out.min() >= 0 and image_out.max() <= 1
    assert palette.colors.dtype == pixels.dtype
    assert palette.colors.shape[1] == n_color
    assert 1 <= len(palette) <= n_colors

    # Labels: -1 exactly where not quantized; there the pixel is unchanged.
    in_rows, out_rows, flat = rows_of(pixels), rows_of(image_out), labels.reshape(-1)
    np.testing.assert_array_equal(flat >= 0, selected)
    assert (flat[~selected] == -1).all()
    assert flat.max() < len(palette)
    np.testing.assert_array_equal(out_rows[~selected], in_rows[~selected])
    # Quantized pixels: colour == palette.colors[label]; alpha unchanged.
    np.testing.assert_array_equal(out_rows[selected, :n_color], palette.colors[flat[selected]])
    np.testing.assert_array_equal(out_rows[:, n_color:], in_rows[:, n_color:])
    # Every output colour of a quantized pixel is in the palette.
    palette_set = {tuple(c) for c in palette.colors.tolist()}
    assert {tuple(c) for c in out_rows[selected, :n_color].tolist()} <= palette_set

    # Counts: per label, sorted, no unused or duplicate colour.
    np.testing.assert_array_equal(palette.counts, np.bincount(flat[selected], minlength=len(palette)))
    assert (palette.counts > 0).all()
    assert np.all(np.diff(palette.counts) <= 0)
    assert len(palette_set) == len(palette)

    # Few colours: returned exactly.
    distinct = {tuple(c) for c in in_rows[selected, :n_color].tolist()}
    if len(distinct) <= n_colors:
        assert np.array_equal(image_out, pixels)
        assert palette_set == distinct


@SETTINGS
@given(image=images(), n_colors=st.integers(1, 10), color_space=st.sampled_from(SPACES))
def test_fit_palette_and_apply_palette_properties(image, n_colors, color_space) -> None:
    pixels, n_color, mask = image
    selected = selection(pixels, n_color, mask)
    if not selected.any():
        with pytest.raises(ValueError, match="no pixel"):
            fit_palette(pixels, n_colors, color_space=color_space, seed=0, mask=mask)
        return
    before = pixels.copy()
    palette = fit_palette(pixels, n_colors, color_space=color_space, seed=0, mask=mask)
    assert isinstance(palette, Palette)
    np.testing.assert_array_equal(
        palette.colors, quantize(pixels, n_colors, color_space=color_space, seed=0, mask=mask).palette.colors
    )
    out = apply_palette(pixels, palette, mask=mask)
    np.testing.assert_array_equal(pixels, before)
    assert out.shape == pixels.shape
    assert out.dtype == pixels.dtype
    in_rows, out_rows = rows_of(pixels), rows_of(out)
    np.testing.assert_array_equal(out_rows[~selected], in_rows[~selected])
    np.testing.assert_array_equal(out_rows[:, n_color:], in_rows[:, n_color:])
    palette_set = {tuple(c) for c in palette.colors.tolist()}
    assert {tuple(c) for c in out_rows[selected, :n_color].tolist()} <= palette_set


@st.composite
def content_in_8_bits_and_deep(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, float, int]:
    """(an 8-bit image, the same content in a uint16 or float image, its step, K).

    The deep image is ``offset + step * value`` for each 8-bit value, in the deep dtype's unit
    scale. With a small step the whole content lies in a few 10-bit cells: a 16-bit step of 1
    spreads 256 values over 4 or 5 cells (``value >> 6``), a float step of 2**-24 over one.
    The 8-bit image has more than K distinct colours.
    """
    dtype = draw(st.sampled_from([np.dtype(np.uint16), np.dtype(np.float32), np.dtype(np.float64)]))
    channels = draw(st.sampled_from([None, 3]))
    height, width = draw(st.integers(2, 12)), draw(st.integers(2, 12))
    shape = (height, width) if channels is None else (height, width, channels)
    values = draw(arrays(np.uint8, shape, elements=st.integers(0, 255)))
    n_colors = draw(st.integers(1, 8))
    assume(len(np.unique(values.reshape(height * width, -1), axis=0)) > n_colors)
    if dtype == np.uint16:
        step = draw(st.sampled_from([1, 3, 257]))
        offset = draw(st.integers(0, 65535 - 255 * step))
        deep = (offset + step * values.astype(np.int64)).astype(np.uint16)
        return values, deep, step / 65535, n_colors
    # Whole multiples of a power of two below 2**24: exact in float32 and float64.
    exponent = draw(st.sampled_from([8, 16, 24]))
    offset = draw(st.integers(0, 2**exponent - 256))
    deep = ((offset + values.astype(np.float64)) * 2.0**-exponent).astype(dtype)
    return values, deep, 2.0**-exponent, n_colors


def unit_mse(before: np.ndarray, after: np.ndarray) -> float:
    """Mean squared difference in the dtype's unit scale ([0, 1])."""
    scale = np.iinfo(before.dtype).max if before.dtype.kind == "u" else 1.0
    return float(np.mean((after.astype(np.float64) / scale - before.astype(np.float64) / scale) ** 2))


@SETTINGS
@given(case=content_in_8_bits_and_deep())
def test_deep_images_use_k_colours_as_well_as_the_same_content_in_8_bits(case) -> None:
    """However few 10-bit histogram cells a uint16/float image occupies, more than K distinct
    colours give K colours, and an error (in steps of the content) close to the 8-bit image's."""
    values, deep, step, n_colors = case
    result = quantize(deep, n_colors, seed=0)
    assert len(result.palette) == n_colors
    error_8 = unit_mse(values, quantize(values, n_colors, seed=0).image) * 255**2
    error_deep = unit_mse(deep, result.image) / step**2
    assert error_deep <= 1.25 * error_8 + 1e-9
