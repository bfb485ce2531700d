"""Clustering spaces (kmeans_quantize.clustering_space): lookup by name, encode, decode, gamut box."""

from __future__ import annotations

import numpy as np
import pytest
from kmeans_quantize.clustering_space import COLOR_SPACES, LAB, OKLAB, RGB, ColorSpace

RNG_SEED = 20240601
DTYPES = [np.uint8, np.uint16, np.float32, np.float64]


@pytest.mark.parametrize(("name", "space"), [("rgb", RGB), ("lab", LAB), ("oklab", OKLAB)])
def test_color_space_is_looked_up_by_name(name: str, space: ColorSpace) -> None:
    assert ColorSpace.named(name) is space
    assert space.name == name


def test_unknown_color_space_names_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown color_space 'hsv'; choose one of rgb, lab, oklab"):
        ColorSpace.named("hsv")


def test_gamut_bounds_only_where_the_gamut_is_a_box() -> None:
    low, high = RGB.gamut_bounds(3)  # type: ignore[misc]
    np.testing.assert_array_equal(low, [0, 0, 0])
    np.testing.assert_array_equal(high, [255, 255, 255])
    assert LAB.gamut_bounds(3) is None
    assert OKLAB.gamut_bounds(1) is None


def stored_values(dtype, n_channels: int, n: int = 4000) -> np.ndarray:
    """Random stored colours of ``dtype`` with black and white included."""
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(RNG_SEED + n_channels)
    if dtype.kind == "u":
        high = np.iinfo(dtype).max
        values = rng.integers(0, high, size=(n, n_channels), endpoint=True).astype(dtype)
    else:
        high = 1
        values = rng.random((n, n_channels)).astype(dtype)
    values[0] = 0
    values[1] = high
    return values


def step(dtype) -> float:
    dtype = np.dtype(dtype)
    return 1.0 if dtype.kind == "u" else 1e-6


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n_channels", [3, 1], ids=["rgb", "gray"])
@pytest.mark.parametrize("color_space", COLOR_SPACES)
def test_space_round_trip(color_space, n_channels, dtype) -> None:
    values = stored_values(dtype, n_channels)
    before = values.copy()
    points = ColorSpace.named(color_space).encode(values, np.dtype(dtype))
    np.testing.assert_array_equal(values, before)
    assert points.shape == values.shape
    assert points.dtype == np.float64
    assert np.isfinite(points).all()
    back = ColorSpace.named(color_space).decode(points, np.dtype(dtype))
    assert back.dtype == np.dtype(dtype)
    assert back.shape == values.shape
    if color_space == "rgb" and np.dtype(dtype).kind == "u":
        np.testing.assert_array_equal(back, values)
    else:
        diff = np.abs(back.astype(np.float64) - values.astype(np.float64))
        assert diff.max() <= step(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_space_rgb_scale(dtype) -> None:
    """ "rgb" coordinates are sRGB values on the 0-255 scale, whatever the dtype."""
    dtype = np.dtype(dtype)
    high = np.iinfo(dtype).max if dtype.kind == "u" else 1
    values = np.array([[0, 0, 0], [high, high, high]], dtype=dtype)
    np.testing.assert_allclose(
        ColorSpace.named("rgb").encode(values, dtype), [[0, 0, 0], [255, 255, 255]], atol=1e-9
    )


def test_space_uint8_rgb_is_identity() -> None:
    values = stored_values(np.uint8, 3)
    np.testing.assert_array_equal(
        ColorSpace.named("rgb").encode(values, np.dtype(np.uint8)), values.astype(np.float64)
    )


@pytest.mark.parametrize(("color_space", "white_l"), [("lab", 100.0), ("oklab", 100.0)])
def test_space_perceptual_lightness_scale(color_space, white_l) -> None:
    values = np.array([[0, 0, 0], [255, 255, 255]], dtype=np.uint8)
    points = ColorSpace.named(color_space).encode(values, np.dtype(np.uint8))
    np.testing.assert_allclose(points[:, 0], [0.0, white_l], atol=1e-4)
    np.testing.assert_allclose(points[:, 1:], 0.0, atol=1e-4)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("color_space", COLOR_SPACES)
def test_space_gray_is_lightness_of_neutral(color_space, dtype) -> None:
    """A gray value is clustered on the first coordinate of the matching neutral RGB colour."""
    dtype = np.dtype(dtype)
    gray = stored_values(dtype, 1, n=500)
    neutral = np.repeat(gray, 3, axis=1)
    gray_points = ColorSpace.named(color_space).encode(gray, dtype)
    rgb_points = ColorSpace.named(color_space).encode(neutral, dtype)
    assert gray_points.shape == (500, 1)
    np.testing.assert_allclose(gray_points[:, 0], rgb_points[:, 0], rtol=0, atol=1e-9)
    back = ColorSpace.named(color_space).decode(gray_points, dtype)
    assert back.shape == (500, 1)
    assert back.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("color_space", COLOR_SPACES)
def test_space_decode_clips_out_of_gamut(color_space, dtype) -> None:
    dtype = np.dtype(dtype)
    high = np.iinfo(dtype).max if dtype.kind == "u" else 1.0
    if color_space == "rgb":
        points = np.array([[-40.0, 300.0, 128.0], [1e6, -1e6, 0.0]])
    elif color_space == "lab":
        points = np.array([[50.0, 200.0, -200.0], [120.0, 0.0, 0.0]])
    else:
        points = np.array([[50.0, 60.0, -60.0], [120.0, 0.0, 0.0]])
    out = ColorSpace.named(color_space).decode(points, dtype)
    assert out.dtype == dtype
    assert out.min() >= 0
    assert out.max() <= high
    assert np.isfinite(out.astype(np.float64)).all()
