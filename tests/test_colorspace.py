"""Colour-space conversions (sRGB, linear, CIELAB, Oklab).

Reference values come from published sources, never from this package:

* sRGB transfer function: IEC 61966-2-1 (0.5 encoded -> 0.214041 linear).
* CIELAB (D65): sRGB red (1, 0, 0) -> (53.2408, 80.0925, 67.2032), green ->
  (87.7347, -86.1827, 83.1793), mid gray 0.5 -> L* 53.3890 (Lindbloom's calculator,
  colormine.org, and every CSS Color 4 implementation).
* Oklab: B. Ottosson, "A perceptual color space for image processing" (2020) and the
  CSS Color 4 sample conversions: red -> (0.627955, 0.224863, 0.125846), green ->
  (0.866440, -0.233888, 0.179498), blue -> (0.452014, -0.032457, -0.311528); white
  -> (1, 0, 0).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from kmeans_quantize import colorspace

RNG_SEED = 20240601

CORNERS = np.array(list(itertools.product((0.0, 1.0), repeat=3)))

FORWARD_BACKWARD = [
    pytest.param(colorspace.srgb_to_lab, colorspace.lab_to_srgb, id="lab"),
    pytest.param(colorspace.srgb_to_oklab, colorspace.oklab_to_srgb, id="oklab"),
]

THREE_CHANNEL_FUNCTIONS = [
    colorspace.srgb_to_lab,
    colorspace.lab_to_srgb,
    colorspace.srgb_to_oklab,
    colorspace.oklab_to_srgb,
]

ALL_FUNCTIONS = [colorspace.srgb_to_linear, colorspace.linear_to_srgb, *THREE_CHANNEL_FUNCTIONS]


def random_colors(n: int = 5000) -> np.ndarray:
    """``n`` random sRGB colours in [0, 1] plus the eight corners of the cube."""
    rng = np.random.default_rng(RNG_SEED)
    return np.concatenate([rng.random((n, 3)), CORNERS])


# --- sRGB transfer function -------------------------------------------------------------------


def test_srgb_linear_round_trip() -> None:
    colors = random_colors()
    np.testing.assert_allclose(
        colorspace.linear_to_srgb(colorspace.srgb_to_linear(colors)), colors, atol=1e-6
    )
    np.testing.assert_allclose(
        colorspace.srgb_to_linear(colorspace.linear_to_srgb(colors)), colors, atol=1e-6
    )


def test_srgb_transfer_function_reference_values() -> None:
    # IEC 61966-2-1: linear segment below 0.04045 (slope 1/12.92), power 2.4 above.
    encoded = np.array([0.0, 0.02, 0.04045, 0.5, 1.0])
    expected = np.array([0.0, 0.02 / 12.92, 0.04045 / 12.92, 0.214041140, 1.0])
    np.testing.assert_allclose(colorspace.srgb_to_linear(encoded), expected, rtol=0, atol=1e-8)
    # The standard's two thresholds (0.04045 and 0.0031308) do not quite match, so the
    # inverse is only continuous to about 3e-8 at the joint.
    np.testing.assert_allclose(colorspace.linear_to_srgb(expected), encoded, rtol=0, atol=1e-7)


def test_srgb_to_linear_is_monotonic() -> None:
    ramp = np.linspace(0.0, 1.0, 4097)
    assert np.all(np.diff(colorspace.srgb_to_linear(ramp)) > 0)
    assert np.all(np.diff(colorspace.linear_to_srgb(ramp)) > 0)


# --- round trips through Lab and Oklab --------------------------------------------------------


@pytest.mark.parametrize(("forward", "backward"), FORWARD_BACKWARD)
def test_round_trip_random_colors_and_corners(forward, backward) -> None:
    colors = random_colors()
    back = backward(forward(colors))
    assert back.shape == colors.shape
    np.testing.assert_allclose(back, colors, rtol=0, atol=1e-6)


@pytest.mark.parametrize(("forward", "backward"), FORWARD_BACKWARD)
def test_round_trip_grays(forward, backward) -> None:
    gray = np.repeat(np.linspace(0.0, 1.0, 1001)[:, None], 3, axis=1)
    np.testing.assert_allclose(backward(forward(gray)), gray, rtol=0, atol=1e-6)


# --- published reference values ---------------------------------------------------------------


def test_lab_white_and_black() -> None:
    np.testing.assert_allclose(colorspace.srgb_to_lab([1.0, 1.0, 1.0]), [100.0, 0.0, 0.0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(colorspace.srgb_to_lab([0.0, 0.0, 0.0]), [0.0, 0.0, 0.0], rtol=0, atol=1e-9)


def test_oklab_white_and_black() -> None:
    np.testing.assert_allclose(colorspace.srgb_to_oklab([1.0, 1.0, 1.0]), [1.0, 0.0, 0.0], rtol=0, atol=1e-6)
    np.testing.assert_allclose(colorspace.srgb_to_oklab([0.0, 0.0, 0.0]), [0.0, 0.0, 0.0], rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    ("srgb", "lab"),
    [
        pytest.param((1.0, 0.0, 0.0), (53.2408, 80.0925, 67.2032), id="red"),
        pytest.param((0.0, 1.0, 0.0), (87.7347, -86.1827, 83.1793), id="green"),
    ],
)
def test_lab_reference_primaries(srgb, lab) -> None:
    np.testing.assert_allclose(colorspace.srgb_to_lab(srgb), lab, rtol=0, atol=1e-3)


def test_lab_mid_gray() -> None:
    lab = colorspace.srgb_to_lab([0.5, 0.5, 0.5])
    assert lab[0] == pytest.approx(53.3890, abs=1e-3)
    # Neutral colours have a* = b* = 0 exactly up to rounding (D65 white is the reference).
    np.testing.assert_allclose(lab[1:], [0.0, 0.0], atol=1e-9)


@pytest.mark.parametrize(
    ("srgb", "oklab"),
    [
        pytest.param((1.0, 0.0, 0.0), (0.627955, 0.224863, 0.125846), id="red"),
        pytest.param((0.0, 1.0, 0.0), (0.866440, -0.233888, 0.179498), id="green"),
        pytest.param((0.0, 0.0, 1.0), (0.452014, -0.032457, -0.311528), id="blue"),
    ],
)
def test_oklab_reference_primaries(srgb, oklab) -> None:
    np.testing.assert_allclose(colorspace.srgb_to_oklab(srgb), oklab, rtol=0, atol=1e-4)


def test_grays_are_neutral_and_lightness_increases() -> None:
    ramp = np.linspace(0.0, 1.0, 257)
    gray = np.repeat(ramp[:, None], 3, axis=1)
    lab = colorspace.srgb_to_lab(gray)
    oklab = colorspace.srgb_to_oklab(gray)
    np.testing.assert_allclose(lab[:, 1:], 0.0, atol=1e-9)
    np.testing.assert_allclose(oklab[:, 1:], 0.0, atol=1e-6)
    assert np.all(np.diff(lab[:, 0]) > 0)
    assert np.all(np.diff(oklab[:, 0]) > 0)


# --- array handling ---------------------------------------------------------------------------


@pytest.mark.parametrize("function", ALL_FUNCTIONS, ids=lambda f: f.__name__)
def test_input_not_modified(function) -> None:
    colors = random_colors(200)
    if function in (colorspace.lab_to_srgb,):
        colors = colorspace.srgb_to_lab(colors)
    elif function is colorspace.oklab_to_srgb:
        colors = colorspace.srgb_to_oklab(colors)
    before = colors.copy()
    out = function(colors)
    np.testing.assert_array_equal(colors, before)
    assert not np.shares_memory(out, colors)


@pytest.mark.parametrize("function", ALL_FUNCTIONS, ids=lambda f: f.__name__)
def test_float32_input_not_modified(function) -> None:
    colors = random_colors(50).astype(np.float32)
    before = colors.copy()
    function(colors)
    np.testing.assert_array_equal(colors, before)
    assert colors.dtype == np.float32


@pytest.mark.parametrize("function", ALL_FUNCTIONS, ids=lambda f: f.__name__)
def test_broadcasting_over_leading_axes(function) -> None:
    rng = np.random.default_rng(RNG_SEED + 1)
    image = rng.random((4, 5, 3))
    out = function(image)
    assert out.shape == (4, 5, 3)
    flat = function(image.reshape(-1, 3))
    np.testing.assert_array_equal(out.reshape(-1, 3), flat)
    single = function(image[2, 3])
    assert single.shape == (3,)
    np.testing.assert_allclose(single, out[2, 3], rtol=0, atol=1e-12)


@pytest.mark.parametrize("function", THREE_CHANNEL_FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("shape", [(4,), (4, 4), (2, 3, 2), (3, 1)])
def test_wrong_last_axis_raises(function, shape) -> None:
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        function(np.zeros(shape))


def test_accepts_array_like() -> None:
    np.testing.assert_array_equal(
        colorspace.srgb_to_lab([[0.25, 0.5, 0.75]]), colorspace.srgb_to_lab(np.array([[0.25, 0.5, 0.75]]))
    )
    np.testing.assert_array_equal(
        colorspace.srgb_to_oklab((0.25, 0.5, 0.75)), colorspace.srgb_to_oklab(np.array([0.25, 0.5, 0.75]))
    )
