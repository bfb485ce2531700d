"""Bad input to the public functions is refused with a ValueError or TypeError a user understands.

Every case also checks that no argument was modified by the failed call.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from kmeans_quantize import Palette, apply_palette, fit_palette, quantize

ERRORS = (ValueError, TypeError)

RNG = np.random.default_rng(7)
RGB = RNG.integers(0, 256, (6, 7, 3), dtype=np.uint8)
GRAY = RNG.integers(0, 256, (6, 7), dtype=np.uint8)
RGB_PALETTE = Palette(np.array([[0, 0, 0], [255, 255, 255], [200, 10, 10]], dtype=np.uint8))
GRAY_PALETTE = Palette(np.array([[0], [128], [255]], dtype=np.uint8))


def _float_image(bad_value: float, dtype=np.float64) -> np.ndarray:
    image = np.full((4, 5, 3), 0.5, dtype=dtype)
    image[1, 2, 0] = bad_value
    return image


def _snapshot(value):
    return copy.deepcopy(value)


def _same(before, after) -> bool:
    if isinstance(before, np.ndarray):
        return (
            isinstance(after, np.ndarray)
            and before.dtype == after.dtype
            and before.shape == after.shape
            and np.array_equal(before, after, equal_nan=before.dtype.kind == "f")
        )
    if isinstance(before, dict):
        return before.keys() == after.keys() and all(_same(before[k], after[k]) for k in before)
    if isinstance(before, (list, tuple)):
        return len(before) == len(after) and all(_same(b, a) for b, a in zip(before, after, strict=True))
    return True  # scalars and strings are immutable


def check_refused(function, args: tuple, kwargs: dict, match: str, error=ERRORS) -> None:
    """``function(*args, **kwargs)`` raises ``error`` (ValueError/TypeError) matching ``match``;
    arguments untouched."""
    before_args, before_kwargs = _snapshot(args), _snapshot(kwargs)
    with pytest.raises(error, match=match):
        function(*args, **kwargs)
    assert _same(before_args, args), "a positional argument was modified"
    assert _same(before_kwargs, kwargs), "a keyword argument was modified"


# --- the pixel array: checked by all three functions ------------------------------------------

BAD_PIXELS = [
    pytest.param(RGB.tolist(), "numpy array", id="list"),
    pytest.param(np.zeros(12, dtype=np.uint8), "shape", id="1-D"),
    pytest.param(np.zeros((2, 3, 4, 3), dtype=np.uint8), "shape", id="4-D"),
    pytest.param(np.zeros((4, 5, 5), dtype=np.uint8), "channels", id="5-channels"),
    pytest.param(np.zeros((4, 5, 0), dtype=np.uint8), "channels", id="0-channels"),
    pytest.param(np.zeros((0, 5, 3), dtype=np.uint8), "empty", id="empty"),
    pytest.param(np.zeros((4, 5, 3), dtype=np.int32), "dtype", id="int32"),
    pytest.param(np.zeros((4, 5, 3), dtype=bool), "dtype", id="bool"),
    pytest.param(np.zeros((4, 5, 3), dtype=np.float16), "dtype", id="float16"),
    pytest.param(np.zeros((4, 5), dtype=np.int64), "dtype", id="int64-gray"),
    pytest.param(_float_image(np.nan), "NaN", id="nan"),
    pytest.param(_float_image(np.nan, np.float32), "NaN", id="nan-float32"),
    pytest.param(_float_image(np.inf), "infinity", id="inf"),
    pytest.param(_float_image(-np.inf, np.float32), "infinity", id="-inf-float32"),
    pytest.param(_float_image(-0.25), r"\[0, 1\]", id="negative"),
    pytest.param(_float_image(1.5), r"\[0, 1\]", id="above-one"),
    pytest.param(_float_image(1.0001, np.float32), r"\[0, 1\]", id="above-one-float32"),
]


@pytest.mark.parametrize(("pixels", "match"), BAD_PIXELS)
def test_quantize_bad_pixels(pixels, match) -> None:
    check_refused(quantize, (pixels, 4), {"seed": 0}, match)


@pytest.mark.parametrize(("pixels", "match"), BAD_PIXELS)
def test_fit_palette_bad_pixels(pixels, match) -> None:
    check_refused(fit_palette, (pixels, 4), {"seed": 0}, match)


@pytest.mark.parametrize(("pixels", "match"), BAD_PIXELS)
def test_apply_palette_bad_pixels(pixels, match) -> None:
    check_refused(apply_palette, (pixels, RGB_PALETTE), {}, match)


def test_float_range_message_names_the_values() -> None:
    with pytest.raises(ValueError, match=r"1\.5"):
        quantize(_float_image(1.5), 4)


# --- parameters of quantize / fit_palette -----------------------------------------------------

RGBA_TRANSPARENT = np.concatenate([RGB, np.zeros((6, 7, 1), dtype=np.uint8)], axis=2)
GRAY_ALPHA_TRANSPARENT = np.stack([GRAY.astype(np.uint16) * 257, np.zeros((6, 7), dtype=np.uint16)], axis=2)
RGBA_FLOAT_TRANSPARENT = np.concatenate([RGB / 255.0, np.zeros((6, 7, 1))], axis=2)

BAD_FIT_ARGUMENTS = [
    pytest.param(RGB, 0, {}, "n_colors", id="n_colors=0"),
    pytest.param(RGB, -1, {}, "n_colors", id="n_colors=-1"),
    pytest.param(RGB, 65537, {}, "n_colors", id="n_colors=65537"),
    pytest.param(RGB, 2.5, {}, "n_colors", id="n_colors=2.5"),
    pytest.param(RGB, 4.0, {}, "n_colors", id="n_colors=4.0"),
    pytest.param(RGB, True, {}, "n_colors", id="n_colors=True"),
    pytest.param(RGB, "4", {}, "n_colors", id="n_colors='4'"),
    pytest.param(RGB, None, {}, "n_colors", id="n_colors=None"),
    pytest.param(RGB, 4, {"mask": np.ones((7, 6), dtype=bool)}, "mask", id="mask-transposed"),
    pytest.param(RGB, 4, {"mask": np.ones((6, 7, 1), dtype=bool)}, "mask", id="mask-3d"),
    pytest.param(RGB, 4, {"mask": np.ones((6, 7), dtype=np.uint8)}, "mask", id="mask-uint8"),
    pytest.param(RGB, 4, {"mask": np.ones((6, 7), dtype=float)}, "mask", id="mask-float"),
    pytest.param(RGB, 4, {"mask": np.zeros((6, 7), dtype=bool)}, "mask", id="mask-all-false"),
    pytest.param(RGBA_TRANSPARENT, 4, {}, "alpha", id="rgba-all-transparent"),
    pytest.param(GRAY_ALPHA_TRANSPARENT, 4, {}, "alpha", id="gray-alpha-all-transparent"),
    pytest.param(RGBA_FLOAT_TRANSPARENT, 4, {}, "alpha", id="rgba-float-all-transparent"),
    pytest.param(RGB, 4, {"color_space": "hsv"}, "color_space", id="color_space=hsv"),
    pytest.param(RGB, 4, {"color_space": "LAB"}, "color_space", id="color_space=LAB"),
    pytest.param(RGB, 4, {"color_space": None}, "color_space", id="color_space=None"),
    pytest.param(RGB, 4, {"init": "kmeans++"}, "init", id="init=kmeans++"),
    pytest.param(RGB, 4, {"init": "median-cut"}, "init", id="init=median-cut"),
    pytest.param(RGB, 4, {"init": np.zeros((3, 3), dtype=np.uint8)}, "init", id="init-too-few-rows"),
    pytest.param(RGB, 4, {"init": np.zeros((4, 1), dtype=np.uint8)}, "init", id="init-gray-for-rgb"),
    pytest.param(
        GRAY, 4, {"init": np.full((4, 3), [0, 0, 9], dtype=np.uint8)}, "init", id="init-rgb-for-gray"
    ),
    pytest.param(RGB, 4, {"init": np.zeros(12, dtype=np.uint8)}, "init", id="init-flat"),
    pytest.param(RGB, 4, {"init": np.full((4, 3), 300)}, "init", id="init-out-of-range"),
    pytest.param(RGB, 4, {"init": np.full((4, 3), np.nan)}, "init", id="init-nan"),
    pytest.param(RGB, 4, {"n_init": 0}, "n_init", id="n_init=0"),
    pytest.param(RGB, 4, {"n_init": -2}, "n_init", id="n_init=-2"),
    pytest.param(RGB, 4, {"max_iter": 0}, "max_iter", id="max_iter=0"),
    pytest.param(RGB, 4, {"max_iter": 2.5}, "max_iter", id="max_iter=2.5"),
    pytest.param(RGB, 4, {"tol": -0.1}, "tol", id="tol=-0.1"),
    pytest.param(RGB, 4, {"tol": float("nan")}, "tol", id="tol=nan"),
    pytest.param(RGB, 4, {"seed": -1}, "seed", id="seed=-1"),
    pytest.param(RGB, 4, {"seed": 1.5}, "seed", id="seed=1.5"),
    pytest.param(RGB, 4, {"seed": "0"}, "seed", id="seed-str"),
    pytest.param(RGB, 4, {"seed": True}, "seed", id="seed=True"),
]


@pytest.mark.parametrize(("pixels", "n_colors", "kwargs", "match"), BAD_FIT_ARGUMENTS)
def test_quantize_bad_arguments(pixels, n_colors, kwargs, match) -> None:
    check_refused(quantize, (pixels, n_colors), {"seed": 0, **kwargs}, match)


@pytest.mark.parametrize(("pixels", "n_colors", "kwargs", "match"), BAD_FIT_ARGUMENTS)
def test_fit_palette_bad_arguments(pixels, n_colors, kwargs, match) -> None:
    check_refused(fit_palette, (pixels, n_colors), {"seed": 0, **kwargs}, match)


# One-line errors that name the parameter: TypeError for a value of the wrong type, ValueError
# for one of the right type out of range.
WRONG_TYPES = [
    pytest.param({"n_colors": "4"}, "^n_colors must be an integer", id="n_colors='4'"),
    pytest.param({"n_colors": 4.0}, "^n_colors must be an integer", id="n_colors=4.0"),
    pytest.param({"n_init": "2"}, "^n_init must be an integer", id="n_init='2'"),
    pytest.param({"n_init": 1.0}, "^n_init must be an integer", id="n_init=1.0"),
    pytest.param({"n_init": True}, "^n_init must be an integer", id="n_init=True"),
    pytest.param({"max_iter": "5"}, "^max_iter must be an integer", id="max_iter='5'"),
    pytest.param({"max_iter": 2.5}, "^max_iter must be an integer", id="max_iter=2.5"),
    pytest.param({"max_iter": None}, "^max_iter must be an integer", id="max_iter=None"),
    pytest.param({"tol": "0.1"}, "^tol must be a number", id="tol='0.1'"),
    pytest.param({"tol": None}, "^tol must be a number", id="tol=None"),
    pytest.param({"tol": True}, "^tol must be a number", id="tol=True"),
    pytest.param({"progress": 3}, "^progress must be callable or None, got int$", id="progress=3"),
    pytest.param({"progress": "print"}, "^progress must be callable or None, got str$", id="progress-str"),
]

OUT_OF_RANGE = [
    pytest.param({"n_colors": 0}, "^n_colors must be between 1 and 65536", id="n_colors=0"),
    pytest.param({"n_init": 0}, "^n_init must be a positive integer", id="n_init=0"),
    pytest.param({"max_iter": -1}, "^max_iter must be a positive integer", id="max_iter=-1"),
    pytest.param({"tol": -0.1}, "^tol must be a number >= 0", id="tol=-0.1"),
    pytest.param({"tol": float("nan")}, "^tol must be a number >= 0", id="tol=nan"),
]


@pytest.mark.parametrize(("kwargs", "match"), WRONG_TYPES)
@pytest.mark.parametrize("function", [quantize, fit_palette], ids=lambda f: f.__name__)
def test_parameters_of_the_wrong_type_raise_type_error(function, kwargs, match) -> None:
    check_refused(function, (RGB,), {"n_colors": 4, "seed": 0, **kwargs}, match, TypeError)


@pytest.mark.parametrize(("kwargs", "match"), OUT_OF_RANGE)
@pytest.mark.parametrize("function", [quantize, fit_palette], ids=lambda f: f.__name__)
def test_parameters_out_of_range_raise_value_error(function, kwargs, match) -> None:
    check_refused(function, (RGB,), {"n_colors": 4, "seed": 0, **kwargs}, match, ValueError)


RGB16 = RGB.astype(np.uint16) * 257
RGB_FLOAT = RGB / 255.0
UNIT_FLOATS = np.linspace(0.1, 0.9, 12).reshape(4, 3)

# Colours given with the image (init, fixed_colors) must be colours of its dtype.
BAD_COLOURS = [
    pytest.param(
        RGB,
        "init",
        UNIT_FLOATS,
        r"^init must be whole numbers from 0 to 255 for a uint8 image, got 0\.1",
        id="init-unit-floats-on-uint8",
    ),
    pytest.param(
        RGB16,
        "init",
        UNIT_FLOATS * 65535,
        "^init must be whole numbers from 0 to 65535 for a uint16 image",
        id="init-fractions-on-uint16",
    ),
    pytest.param(
        RGB_FLOAT,
        "init",
        UNIT_FLOATS * 255,
        r"^init must lie in \[0, 1\] for a float64 image, got values up to 229\.5",
        id="init-8-bit-values-on-float",
    ),
    pytest.param(
        RGB,
        "fixed_colors",
        [[0.5, 0.5, 0.5]],
        "^fixed_colors must be whole numbers from 0 to 255",
        id="fixed-unit-floats-on-uint8",
    ),
    pytest.param(
        RGB,
        "fixed_colors",
        [[0, 0, 256]],
        r"^fixed_colors must lie in \[0, 255\] for a uint8 image, got values up to 256",
        id="fixed-above-255",
    ),
    pytest.param(
        RGB,
        "fixed_colors",
        [[0, 0, 0], [255, 255]],
        r"^fixed_colors must have shape \(n, 3\) for this image; its rows have different lengths$",
        id="fixed-ragged",
    ),
    pytest.param(
        GRAY,
        "fixed_colors",
        [[7, 7, 7], [0, 0, 255]],
        r"^a gray image needs gray colours \(R = G = B\); fixed_colors has colour \(0, 0, 255\) \(entry 1\)$",
        id="fixed-not-gray-on-gray",
    ),
    pytest.param(
        GRAY,
        "init",
        np.array([[1, 1, 1], [2, 2, 2], [3, 3, 3], [4, 4, 5]], dtype=np.uint8),
        r"^a gray image needs gray colours \(R = G = B\); init has colour #040405 \(entry 3\)$",
        id="init-not-gray-on-gray",
    ),
    pytest.param(
        RGB,
        "init",
        [[0, 0, 0], [1, 1, 1], [2, 2], [3, 3, 3]],
        r"^init must have shape \(4, 3\) for this image; its rows have different lengths$",
        id="init-ragged",
    ),
]


@pytest.mark.parametrize(("pixels", "name", "colors", "match"), BAD_COLOURS)
@pytest.mark.parametrize("function", [quantize, fit_palette], ids=lambda f: f.__name__)
def test_colours_that_the_image_cannot_hold_are_refused(function, pixels, name, colors, match) -> None:
    check_refused(function, (pixels, 4), {"seed": 0, name: colors}, match, ValueError)


@pytest.mark.parametrize("n_colors", [1, 65536, np.int64(3), np.uint8(2)], ids=repr)
def test_n_colors_limits_and_numpy_integers_accepted(n_colors) -> None:
    """The error cases above are not simply everything: the valid extremes work."""
    result = quantize(RGB, n_colors, seed=0)
    assert 1 <= len(result.palette) <= int(n_colors)


# --- apply_palette ----------------------------------------------------------------------------

# RGB_PALETTE's third colour, (200, 10, 10), is not gray.
NOT_GRAY_PALETTE = (
    r"^a gray image needs gray colours \(R = G = B\); the palette has colour #c80a0a \(entry 2\)$"
)

BAD_APPLY_ARGUMENTS = [
    pytest.param(
        RGB, GRAY_PALETTE, {}, "^a gray palette cannot be applied to an RGB image$", id="gray-palette-on-rgb"
    ),
    pytest.param(GRAY, RGB_PALETTE, {}, NOT_GRAY_PALETTE, id="rgb-palette-on-gray"),
    pytest.param(GRAY[..., None], RGB_PALETTE, {}, NOT_GRAY_PALETTE, id="rgb-palette-on-gray1"),
    pytest.param(
        RGBA_TRANSPARENT[..., [0, 3]], RGB_PALETTE, {}, NOT_GRAY_PALETTE, id="rgb-palette-on-gray-alpha"
    ),
    pytest.param(
        GRAY,
        Palette(np.array([[0, 0, 0], [0.5, 0.5, 0.25]])),
        {},
        r"^a gray image needs gray colours \(R = G = B\); "
        r"the palette has colour \(0\.5, 0\.5, 0\.25\) \(entry 1\)$",
        id="float-rgb-palette-on-gray",
    ),
    pytest.param(RGB, np.array([[0, 0, 0], [255, 255, 255]], dtype=np.uint8), {}, "Palette", id="ndarray"),
    pytest.param(RGB, [[0, 0, 0], [255, 255, 255]], {}, "Palette", id="list"),
    pytest.param(RGB, None, {}, "Palette", id="None"),
    pytest.param(RGB, RGB_PALETTE, {"mask": np.ones((7, 6), dtype=bool)}, "mask", id="mask-transposed"),
    pytest.param(RGB, RGB_PALETTE, {"mask": np.ones((6, 7), dtype=np.int64)}, "mask", id="mask-int"),
]


@pytest.mark.parametrize(("pixels", "palette", "kwargs", "match"), BAD_APPLY_ARGUMENTS)
def test_apply_palette_bad_arguments(pixels, palette, kwargs, match) -> None:
    palette_colors = palette.colors.copy() if isinstance(palette, Palette) else None
    check_refused(apply_palette, (pixels, palette), kwargs, match)
    if palette_colors is not None:
        np.testing.assert_array_equal(palette.colors, palette_colors)


def test_apply_palette_non_palette_is_type_error() -> None:
    with pytest.raises(TypeError, match="Palette"):
        apply_palette(RGB, np.array([[0, 0, 0]], dtype=np.uint8))


@pytest.mark.parametrize(
    ("pixels", "kwargs"),
    [
        pytest.param(RGB, {"mask": np.zeros((6, 7), dtype=bool)}, id="mask-all-false"),
        pytest.param(RGBA_TRANSPARENT, {}, id="all-transparent"),
    ],
)
def test_apply_palette_with_nothing_selected_returns_an_unchanged_copy(pixels, kwargs) -> None:
    """Applying a palette to no pixel is not an error: nothing changes."""
    before = pixels.copy()
    out = apply_palette(pixels, RGB_PALETTE, **kwargs)
    np.testing.assert_array_equal(pixels, before)
    np.testing.assert_array_equal(out, pixels)
    assert out.dtype == pixels.dtype
    assert not np.shares_memory(out, pixels)


# --- the Palette constructor ------------------------------------------------------------------

BAD_PALETTES = [
    pytest.param({"colors": np.zeros((2, 2), dtype=np.uint8)}, "shape", id="two-channels"),
    pytest.param({"colors": np.zeros((2, 4), dtype=np.uint8)}, "shape", id="four-channels"),
    pytest.param({"colors": np.zeros((0, 3), dtype=np.uint8)}, "n >= 1", id="empty"),
    pytest.param({"colors": np.zeros((2, 2, 3), dtype=np.uint8)}, "shape", id="3-D"),
    pytest.param({"colors": np.uint8(7)}, "shape", id="scalar"),
    pytest.param({"colors": np.zeros((2, 3), dtype=np.int32)}, "dtype", id="int32"),
    pytest.param({"colors": np.zeros((2, 3), dtype=bool)}, "dtype", id="bool"),
    pytest.param({"colors": np.zeros((2, 3), dtype=np.float16)}, "dtype", id="float16"),
    pytest.param({"colors": np.full((2, 3), 1.5)}, r"\[0, 1\]", id="float-above-one"),
    pytest.param({"colors": np.full((2, 3), -0.5, dtype=np.float32)}, r"\[0, 1\]", id="float-negative"),
    pytest.param({"colors": np.full((2, 3), np.nan)}, r"\[0, 1\]", id="float-nan"),
    pytest.param(
        {"colors": np.zeros((2, 3), dtype=np.uint8), "counts": [1, 2, 3]}, "counts", id="counts-long"
    ),
    pytest.param({"colors": np.zeros((2, 3), dtype=np.uint8), "counts": [[1, 2]]}, "counts", id="counts-2d"),
    pytest.param(
        {"colors": np.zeros((2, 3), dtype=np.uint8), "color_space": "xyz"}, "color_space", id="space"
    ),
]


@pytest.mark.parametrize(("kwargs", "match"), BAD_PALETTES)
def test_palette_constructor_refuses(kwargs, match) -> None:
    check_refused(Palette, (), kwargs, match)


def test_palette_refuses_negative_counts() -> None:
    check_refused(Palette, (np.zeros((2, 3), dtype=np.uint8),), {"counts": [-1, 2]}, "counts")


def test_palette_copies_and_freezes_its_input() -> None:
    colors = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.uint16)
    counts = np.array([5, 1])
    palette = Palette(colors, counts=counts, color_space="lab")
    colors[0, 0] = 999
    counts[0] = 0
    np.testing.assert_array_equal(palette.colors, [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(palette.counts, [5, 1])
    assert palette.colors.dtype == np.uint16
    assert palette.counts.dtype == np.int64
    with pytest.raises(ValueError):
        palette.colors[0, 0] = 0
    with pytest.raises(ValueError):
        palette.counts[0] = 0
    assert len(palette) == 2
    assert palette.color_space == "lab"


def test_palette_defaults() -> None:
    palette = Palette(np.array([[0.25], [0.75]], dtype=np.float32))
    assert palette.color_space == "rgb"
    np.testing.assert_array_equal(palette.counts, [0, 0])
    np.testing.assert_array_equal(palette.shares, [0.0, 0.0])
