"""Every layout and dtype goes through quantize, fit_palette and apply_palette unchanged in form.

Layouts: gray (H, W), gray (H, W, 1), gray + alpha, RGB, RGBA; dtypes uint8, uint16,
float32, float64. Images are small synthetic gradients with noise, a flat patch (so pixel
counts matter) and, with alpha, a transparent block and partly transparent pixels.
"""

from __future__ import annotations

import numpy as np
import pytest
from kmeans_quantize import Palette, QuantizeResult, apply_palette, colorspace, fit_palette, quantize
from kmeans_quantize.clustering_space import ColorSpace

DTYPES = [np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32), np.dtype(np.float64)]
LAYOUTS = ["gray", "gray1", "gray_alpha", "rgb", "rgba"]
ALPHA_LAYOUTS = ["gray_alpha", "rgba"]
SPACES = ["rgb", "lab", "oklab"]
HEIGHT, WIDTH = 40, 50

dtype_param = pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
layout_param = pytest.mark.parametrize("layout", LAYOUTS)
space_param = pytest.mark.parametrize("color_space", SPACES)


# --- helpers ----------------------------------------------------------------------------------


def max_value(dtype: np.dtype) -> float:
    return float(np.iinfo(dtype).max) if dtype.kind == "u" else 1.0


def from_float(unit: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype.kind == "u":
        return np.rint(unit * max_value(dtype)).astype(dtype)
    return unit.astype(dtype)


def n_color_channels(layout: str) -> int:
    return 3 if layout in ("rgb", "rgba") else 1


def make_image(
    dtype: np.dtype, layout: str, seed: int = 0, height: int = HEIGHT, width: int = WIDTH
) -> np.ndarray:
    """Smooth gradients plus noise, with a flat patch; alpha with a transparent block."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    unit = np.stack([x / (width - 1), y / (height - 1), 0.5 + 0.4 * np.sin((x + 2 * y) / 9.0)], axis=-1)
    unit = unit + rng.normal(0.0, 0.04, unit.shape)
    unit[5:15, 30:45] = (0.9, 0.2, 0.3)  # flat patch: one colour, many pixels
    unit = np.clip(unit, 0.0, 1.0)
    gray = unit.mean(axis=-1, keepdims=True)
    alpha = np.clip(rng.random((height, width, 1)) * 1.2, 0.0, 1.0)
    alpha[20:30, 0:10] = 0.0  # transparent block
    alpha[0, 0] = 0.0
    parts = {
        "gray": [gray[..., 0]],
        "gray1": [gray],
        "gray_alpha": [gray, alpha],
        "rgb": [unit],
        "rgba": [unit, alpha],
    }[layout]
    image = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-1)
    pixels = from_float(image, dtype)
    if layout in ALPHA_LAYOUTS:
        # Give transparent pixels varied colours: they must survive untouched.
        assert (pixels[..., -1] == 0).sum() >= 100
    return pixels


def as_rows(image: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, C) -> (H*W, C)."""
    return image.reshape(image.shape[0] * image.shape[1], -1)


def fitted_selection(pixels: np.ndarray, layout: str, mask: np.ndarray | None = None) -> np.ndarray:
    """Boolean (H*W,) of the pixels that take part: inside mask and not fully transparent."""
    selected = np.ones(pixels.shape[0] * pixels.shape[1], dtype=bool)
    if mask is not None:
        selected &= mask.reshape(-1)
    if layout in ALPHA_LAYOUTS:
        selected &= as_rows(pixels)[:, -1] != 0
    return selected


def distinct_rows(rows: np.ndarray) -> set[tuple]:
    return {tuple(row) for row in rows.tolist()}


def check_result(pixels: np.ndarray, layout: str, result: QuantizeResult, n_colors: int, mask=None) -> None:
    """Everything that must hold for any quantize() result."""
    image, palette, labels = result.image, result.palette, result.labels
    c = n_color_channels(layout)
    # Form of the output.
    assert isinstance(result, QuantizeResult)
    assert isinstance(palette, Palette)
    assert image.shape == pixels.shape
    assert image.dtype == pixels.dtype
    assert not np.shares_memory(image, pixels)
    if pixels.dtype.kind == "f":
        assert np.isfinite(image).all()
        assert image.min() >= 0.0
        assert image.max() <= 1.0
    assert labels.shape == pixels.shape[:2]
    assert labels.dtype.kind == "i"
    assert palette.colors.dtype == pixels.dtype
    assert palette.colors.ndim == 2
    assert palette.colors.shape[1] == c
    assert 1 <= len(palette) <= n_colors
    # Labels against the image.
    selected = fitted_selection(pixels, layout, mask)
    flat_labels = labels.reshape(-1)
    in_rows, out_rows = as_rows(pixels), as_rows(image)
    assert np.array_equal(flat_labels >= 0, selected)
    assert (flat_labels[~selected] == -1).all()
    assert flat_labels.max() < len(palette)
    np.testing.assert_array_equal(out_rows[selected, :c], palette.colors[flat_labels[selected]])
    np.testing.assert_array_equal(out_rows[~selected], in_rows[~selected])
    if layout in ALPHA_LAYOUTS:
        np.testing.assert_array_equal(out_rows[:, -1], in_rows[:, -1])
    # Distinct output colours <= n_colors, all in the palette.
    used = distinct_rows(out_rows[selected, :c])
    assert len(used) <= n_colors
    assert used <= distinct_rows(palette.colors)
    # Palette: no duplicates, sorted by count, counts match the labels.
    assert len(distinct_rows(palette.colors)) == len(palette)
    assert np.all(np.diff(palette.counts) <= 0)
    assert palette.counts.sum() == selected.sum()
    np.testing.assert_array_equal(palette.counts, np.bincount(flat_labels[selected], minlength=len(palette)))


# --- form of the output -----------------------------------------------------------------------


@space_param
@dtype_param
@layout_param
def test_output_form_and_consistency(layout, dtype, color_space) -> None:
    pixels = make_image(dtype, layout)
    before = pixels.copy()
    result = quantize(pixels, 6, color_space=color_space, seed=1)
    np.testing.assert_array_equal(pixels, before)
    check_result(pixels, layout, result, 6)
    assert result.palette.color_space == color_space


@dtype_param
@layout_param
def test_mask_limits_fit_and_change(layout, dtype) -> None:
    pixels = make_image(dtype, layout, seed=3)
    rng = np.random.default_rng(11)
    mask = rng.random(pixels.shape[:2]) < 0.6
    mask_before = mask.copy()
    result = quantize(pixels, 5, seed=2, mask=mask)
    np.testing.assert_array_equal(mask, mask_before)
    check_result(pixels, layout, result, 5, mask=mask)
    assert (result.labels[~mask] == -1).all()


@pytest.mark.parametrize("explicit_mask", [False, True], ids=["alone", "with-mask"])
@pytest.mark.parametrize("layout", ["gray", "rgb", "rgba"])
def test_masked_array_pixels_are_not_fitted_or_changed(layout, explicit_mask) -> None:
    """A numpy masked array's masked pixels (any channel masked) count as mask=False; with
    ``mask=`` as well, a pixel takes part only if both allow it. The output is a masked array
    with the input's mask."""
    data = make_image(np.dtype(np.float32), layout, seed=18)
    rng = np.random.default_rng(18)
    hidden = rng.random(data.shape) < (0.2 if data.ndim == 2 else 0.1)  # element by element
    masked = np.ma.masked_array(data, mask=hidden)
    pixel_hidden = hidden if data.ndim == 2 else hidden.any(axis=2)
    mask = rng.random(data.shape[:2]) < 0.7 if explicit_mask else None
    allowed = ~pixel_hidden & (True if mask is None else mask)
    result = quantize(masked, 5, seed=1, mask=mask)
    expected = quantize(data, 5, seed=1, mask=allowed)
    assert isinstance(result.image, np.ma.MaskedArray)
    np.testing.assert_array_equal(np.ma.getmaskarray(result.image), hidden)
    np.testing.assert_array_equal(result.image.data, expected.image)
    np.testing.assert_array_equal(result.labels, expected.labels)
    np.testing.assert_array_equal(result.palette.colors, expected.palette.colors)
    np.testing.assert_array_equal(result.image.data[~allowed], data[~allowed])
    palette = fit_palette(masked, 5, seed=1, mask=mask)
    np.testing.assert_array_equal(palette.colors, expected.palette.colors)
    applied = apply_palette(masked, result.palette, mask=mask)
    np.testing.assert_array_equal(np.ma.getmaskarray(applied), hidden)
    np.testing.assert_array_equal(applied.data, expected.image)


@dtype_param
@layout_param
def test_pixels_not_fitted_do_not_influence_the_result(layout, dtype) -> None:
    """Changing pixels outside the mask, or under alpha 0, changes nothing in the result."""
    pixels = make_image(dtype, layout, seed=4)
    mask = np.ones(pixels.shape[:2], dtype=bool)
    mask[:, :20] = False
    excluded = ~fitted_selection(pixels, layout, mask).reshape(pixels.shape[:2])
    other = pixels.copy()
    c = n_color_channels(layout)
    noise = make_image(dtype, "rgb", seed=99)[..., :c]
    if other.ndim == 2:
        other[excluded] = noise[..., 0][excluded]
    else:
        other[..., :c][excluded] = noise[excluded]
    assert not np.array_equal(other, pixels)
    first = quantize(pixels, 5, seed=5, mask=mask)
    second = quantize(other, 5, seed=5, mask=mask)
    np.testing.assert_array_equal(first.palette.colors, second.palette.colors)
    np.testing.assert_array_equal(first.palette.counts, second.palette.counts)
    np.testing.assert_array_equal(first.labels, second.labels)
    np.testing.assert_array_equal(first.image[~excluded], second.image[~excluded])
    np.testing.assert_array_equal(second.image[excluded], other[excluded])


@pytest.mark.parametrize("layout", ALPHA_LAYOUTS)
@dtype_param
def test_transparent_pixels_keep_their_colour(layout, dtype) -> None:
    pixels = make_image(dtype, layout, seed=6)
    result = quantize(pixels, 4, seed=0)
    transparent = pixels[..., -1] == 0
    assert transparent.sum() >= 100
    np.testing.assert_array_equal(result.image[transparent], pixels[transparent])
    assert (result.labels[transparent] == -1).all()
    assert (result.labels[~transparent] >= 0).all()
    np.testing.assert_array_equal(result.image[..., -1], pixels[..., -1])
    applied = apply_palette(pixels, result.palette)
    np.testing.assert_array_equal(applied[transparent], pixels[transparent])
    np.testing.assert_array_equal(applied[..., -1], pixels[..., -1])


@dtype_param
def test_non_contiguous_and_read_only_input(dtype) -> None:
    pixels = make_image(dtype, "rgba", seed=7)
    views = [pixels[:, ::-1], pixels[::2, ::3], np.asfortranarray(pixels)]
    read_only = pixels.copy()
    read_only.setflags(write=False)
    views.append(read_only)
    for view in views:
        expected = quantize(np.ascontiguousarray(view), 5, seed=3)
        result = quantize(view, 5, seed=3)
        np.testing.assert_array_equal(result.image, expected.image)
        np.testing.assert_array_equal(result.labels, expected.labels)
        np.testing.assert_array_equal(result.palette.colors, expected.palette.colors)


@pytest.mark.parametrize("dtype", DTYPES[1:], ids=lambda d: d.name)
@pytest.mark.parametrize("layout", ["gray", "rgba"])
def test_other_byte_order_is_accepted_and_kept(layout, dtype) -> None:
    """A byte-swapped array ('>u2' on a little-endian machine) gives the native array's result, in
    its own dtype; palettes are native."""
    native = make_image(dtype, layout, seed=17)
    swapped = native.astype(dtype.newbyteorder())
    assert swapped.dtype != native.dtype
    mask = np.ones(native.shape[:2], dtype=bool)
    mask[::3] = False
    expected = quantize(native, 5, seed=3, mask=mask)
    result = quantize(swapped, 5, seed=3, mask=mask)
    assert result.image.dtype == swapped.dtype
    np.testing.assert_array_equal(result.image, expected.image)
    np.testing.assert_array_equal(result.labels, expected.labels)
    np.testing.assert_array_equal(result.palette.colors, expected.palette.colors)
    assert result.palette.colors.dtype == dtype
    applied = apply_palette(swapped, result.palette, mask=mask, dither="floyd-steinberg")
    assert applied.dtype == swapped.dtype
    np.testing.assert_array_equal(
        applied, apply_palette(native, result.palette, mask, dither="floyd-steinberg")
    )
    shared = fit_palette([native, swapped], 5, seed=3)
    np.testing.assert_array_equal(shared.colors, fit_palette([native, native], 5, seed=3).colors)


# --- few colours: returned exactly ------------------------------------------------------------


def few_colour_image(dtype: np.dtype, layout: str, n_distinct: int, seed: int = 0) -> np.ndarray:
    """An image built from ``n_distinct`` arbitrary colours (not on any grid)."""
    rng = np.random.default_rng(seed)
    c = n_color_channels(layout)
    if dtype.kind == "u":
        colours = rng.integers(0, np.iinfo(dtype).max, (n_distinct, c), endpoint=True).astype(dtype)
        colours[:, 0] = rng.choice(np.iinfo(dtype).max + 1, n_distinct, replace=False)  # all distinct
    else:
        colours = rng.random((n_distinct, c)).astype(dtype)
    index = rng.integers(0, n_distinct, (HEIGHT, WIDTH))
    index[: n_distinct // 2 + 1, :] = np.arange(n_distinct)[: n_distinct // 2 + 1, None]  # all present
    index[-1, :n_distinct] = np.arange(n_distinct)
    image = colours[index]
    if layout == "gray":
        return image[..., 0]
    if layout in ALPHA_LAYOUTS:
        alpha = from_float(rng.random((HEIGHT, WIDTH, 1)), dtype)
        alpha[:3] = 0
        alpha[-1] = max_value(dtype)  # keep every colour visible somewhere
        return np.concatenate([image, alpha.astype(dtype)], axis=-1)
    return image


@space_param
@dtype_param
@layout_param
@pytest.mark.parametrize("n_colors", [5, 9])
def test_few_colours_returned_exactly(layout, dtype, color_space, n_colors) -> None:
    pixels = few_colour_image(dtype, layout, 5, seed=n_colors)
    selected = fitted_selection(pixels, layout)
    c = n_color_channels(layout)
    image_colours = distinct_rows(as_rows(pixels)[selected, :c])
    assert len(image_colours) == 5
    result = quantize(pixels, n_colors, color_space=color_space, seed=0)
    assert np.array_equal(result.image, pixels)
    assert result.image.dtype == pixels.dtype
    assert distinct_rows(result.palette.colors) == image_colours
    assert len(result.palette) == 5
    check_result(pixels, layout, result, n_colors)
    palette = fit_palette(pixels, n_colors, color_space=color_space, seed=0)
    assert distinct_rows(palette.colors) == image_colours
    assert np.array_equal(apply_palette(pixels, palette), pixels)


# --- quantize = fit_palette + apply_palette ---------------------------------------------------


def nearest_choices(rows: np.ndarray, palette: Palette) -> np.ndarray:
    """Boolean (N, len(palette)): which palette colours are nearest to each row (ties kept).

    Distances are measured in ``palette.color_space`` through its encoding (tested in
    test_clustering_space.py); colours within rounding of the minimum all count as nearest.
    """
    space = ColorSpace.named(palette.color_space)
    points = space.encode(rows, rows.dtype)
    centres = space.encode(palette.colors, palette.colors.dtype)
    dist = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=-1)
    best = dist.min(axis=1, keepdims=True)
    return dist <= best * (1 + 1e-9) + 1e-9


def palette_index(rows: np.ndarray, palette: Palette) -> np.ndarray:
    lookup = {tuple(colour): i for i, colour in enumerate(palette.colors.tolist())}
    return np.array([lookup[tuple(row)] for row in rows.tolist()], dtype=np.intp)


def check_same_mapping(pixels, layout, quantized, applied, palette, mask=None) -> None:
    """``applied`` equals ``quantized`` exactly, and both pick a nearest palette colour
    (on an exact tie, the same one: see the tie test below)."""
    c = n_color_channels(layout)
    selected = fitted_selection(pixels, layout, mask)
    in_rows, q_rows, a_rows = as_rows(pixels), as_rows(quantized), as_rows(applied)
    assert applied.shape == pixels.shape
    assert applied.dtype == pixels.dtype
    np.testing.assert_array_equal(a_rows[~selected], in_rows[~selected])
    np.testing.assert_array_equal(a_rows[:, c:], in_rows[:, c:])
    choices = nearest_choices(in_rows[selected, :c], palette)
    rows = np.arange(choices.shape[0])
    assert choices[rows, palette_index(q_rows[selected, :c], palette)].all(), "quantize: not the nearest"
    assert choices[rows, palette_index(a_rows[selected, :c], palette)].all(), "apply_palette: not the nearest"
    np.testing.assert_array_equal(a_rows, q_rows)


@space_param
@dtype_param
@layout_param
def test_quantize_equals_fit_then_apply(layout, dtype, color_space) -> None:
    pixels = make_image(dtype, layout, seed=8)
    result = quantize(pixels, 7, color_space=color_space, seed=42)
    palette = fit_palette(pixels, 7, color_space=color_space, seed=42)
    np.testing.assert_array_equal(palette.colors, result.palette.colors)
    np.testing.assert_array_equal(palette.counts, result.palette.counts)
    assert palette.color_space == result.palette.color_space == color_space
    applied = apply_palette(pixels, result.palette)
    check_same_mapping(pixels, layout, result.image, applied, result.palette)


@space_param
@dtype_param
@layout_param
def test_quantize_equals_apply_palette_with_mask(layout, dtype, color_space) -> None:
    pixels = make_image(dtype, layout, seed=9)
    mask = np.zeros(pixels.shape[:2], dtype=bool)
    mask[5:35, 10:45] = True
    result = quantize(pixels, 6, color_space=color_space, seed=4, mask=mask)
    applied = apply_palette(pixels, result.palette, mask=mask)
    check_same_mapping(pixels, layout, result.image, applied, result.palette, mask=mask)
    np.testing.assert_array_equal(applied[~mask], pixels[~mask])


@pytest.mark.parametrize("layout", ["gray", "rgb"])
def test_quantize_equals_apply_palette_on_exact_ties(layout) -> None:
    # Gray 2 is exactly halfway between the palette colours 0 and 4 (and 4 is the more frequent).
    gray = np.array([[0, 0, 0, 2, 4, 4, 4, 4, 4]], dtype=np.uint8)
    pixels = gray if layout == "gray" else np.repeat(gray[..., None], 3, axis=2)
    init = np.array([[0], [4]]) if layout == "gray" else np.array([[0, 0, 0], [4, 4, 4]])
    result = quantize(pixels, 2, init=init)
    assert distinct_rows(result.palette.colors) == {(0,) * init.shape[1], (4,) * init.shape[1]}
    np.testing.assert_array_equal(apply_palette(pixels, result.palette), result.image)


# Float values this small are the same CIELAB point as 0 (L* = 116 f(Y) - 16 and 16 + tiny - 16
# == 0 in float64), and as each other: only their stored values tell them apart.
TINY_VALUES = [0.0, 1e-18, 1e-17, 6.052505e-39]


@pytest.mark.parametrize("dtype", [np.dtype(np.float32), np.dtype(np.float64)], ids=str)
@pytest.mark.parametrize("n_colors", [4, 6], ids=["k-means", "few-colours"])
def test_quantize_equals_apply_palette_for_floats_that_share_a_lab_point(n_colors, dtype) -> None:
    """apply_palette(p, quantize(p, K).palette) == quantize(p, K).image, whether K keeps every
    colour (each pixel keeps its own) or the k-means runs with the tiny values as fixed colours."""
    colors = np.array([[v, v, v] for v in TINY_VALUES] + [[0.5, 0.2, 0.1], [0.75, 0.8, 0.9]], dtype=dtype)
    pixels = np.repeat(colors[None], 3, axis=0)
    fixed = colors[:4] if n_colors == 4 else None
    result = quantize(pixels, n_colors, color_space="lab", seed=0, fixed_colors=fixed)
    np.testing.assert_array_equal(apply_palette(pixels, result.palette), result.image)
    np.testing.assert_array_equal(result.image[:, :4], pixels[:, :4])  # in the palette: kept


@pytest.mark.parametrize("palette_dtype", [np.dtype(np.uint8), np.dtype(np.float32)], ids=str)
@pytest.mark.parametrize("layout", ["gray", "gray1", "gray_alpha"])
def test_gray_images_take_rgb_palettes_whose_colours_are_gray(layout, palette_dtype) -> None:
    """Palette files load as RGB: an RGB palette with R = G = B works on a gray image as the
    gray palette of those values, with dithering too."""
    pixels = make_image(np.dtype(np.uint16), layout, seed=19)
    levels = np.array([0, 60, 128, 200, 255]) / (255.0 if palette_dtype.kind == "f" else 1.0)
    gray = Palette(levels[:, None].astype(palette_dtype), color_space="lab")
    rgb = Palette(np.repeat(levels[:, None], 3, axis=1).astype(palette_dtype), color_space="lab")
    for dither in ("none", "floyd-steinberg"):
        np.testing.assert_array_equal(
            apply_palette(pixels, rgb, dither=dither), apply_palette(pixels, gray, dither=dither)
        )


@pytest.mark.parametrize("layout", ["gray", "gray_alpha"])
def test_gray_images_take_rgb_fixed_colours_and_init_that_are_gray(layout) -> None:
    pixels = make_image(np.dtype(np.uint8), layout, seed=20)
    fixed, init = np.array([[0], [128]]), np.array([[40], [90], [220]])
    as_rgb = {"fixed_colors": np.repeat(fixed, 3, axis=1), "init": np.repeat(init, 3, axis=1)}
    expected = quantize(pixels, 5, fixed_colors=fixed, init=init)
    result = quantize(pixels, 5, **as_rgb)
    np.testing.assert_array_equal(result.image, expected.image)
    np.testing.assert_array_equal(result.palette.colors, expected.palette.colors)
    assert result.palette.colors.shape[1] == 1
    palette = fit_palette(pixels, 5, seed=0, fixed_colors=as_rgb["fixed_colors"])
    np.testing.assert_array_equal(palette.colors, fit_palette(pixels, 5, seed=0, fixed_colors=fixed).colors)


def test_same_seed_same_output() -> None:
    pixels = make_image(np.dtype(np.uint8), "rgb", seed=10)
    first = quantize(pixels, 8, seed=123)
    second = quantize(pixels, 8, seed=123)
    assert first.image.tobytes() == second.image.tobytes()
    np.testing.assert_array_equal(first.labels, second.labels)
    rng_first = quantize(pixels, 8, seed=np.random.default_rng(5))
    rng_second = quantize(pixels, 8, seed=np.random.default_rng(5))
    np.testing.assert_array_equal(rng_first.image, rng_second.image)


# --- n_colors = 1: the weighted mean ----------------------------------------------------------


@dtype_param
@layout_param
def test_one_colour_is_the_mean_in_rgb(layout, dtype) -> None:
    pixels = make_image(dtype, layout, seed=12)
    selected = fitted_selection(pixels, layout)
    c = n_color_channels(layout)
    rows = as_rows(pixels)[selected, :c].astype(np.float64)
    # The flat patch makes some colours far more frequent: the mean is per pixel.
    assert len(distinct_rows(rows)) < len(rows)
    mean = rows.mean(axis=0)
    result = quantize(pixels, 1, seed=0)
    assert len(result.palette) == 1
    assert result.palette.counts.tolist() == [selected.sum()]
    colour = result.palette.colors[0].astype(np.float64)
    tolerance = 0.5 + 1e-6 if dtype.kind == "u" else 1e-6
    np.testing.assert_allclose(colour, mean, rtol=0, atol=tolerance)
    out_rows = as_rows(result.image)
    assert distinct_rows(out_rows[selected, :c]) == {tuple(result.palette.colors[0].tolist())}


@pytest.mark.parametrize(
    ("color_space", "forward", "backward"),
    [
        ("lab", colorspace.srgb_to_lab, colorspace.lab_to_srgb),
        ("oklab", colorspace.srgb_to_oklab, colorspace.oklab_to_srgb),
    ],
)
@pytest.mark.parametrize("layout", ["rgb", "gray"])
def test_one_colour_is_the_mean_in_perceptual_space(layout, color_space, forward, backward) -> None:
    pixels = make_image(np.dtype(np.uint8), layout, seed=13)
    unit = as_rows(pixels).astype(np.float64) / 255.0
    if layout == "gray":
        points = forward(np.repeat(unit, 3, axis=1))[:, :1]
        mean = np.zeros(3)
        mean[0] = points.mean()
        expected = backward(mean).mean()
    else:
        expected = backward(forward(unit).mean(axis=0))
    expected = np.clip(expected, 0.0, 1.0) * 255.0
    result = quantize(pixels, 1, color_space=color_space, seed=0)
    assert len(result.palette) == 1
    np.testing.assert_allclose(result.palette.colors[0].astype(np.float64), expected, rtol=0, atol=0.5 + 1e-6)


# --- quality sanity for every dtype and space -------------------------------------------------


@space_param
@dtype_param
@pytest.mark.parametrize("layout", ["gray", "rgb", "rgba"])
def test_more_colours_lower_error(layout, dtype, color_space) -> None:
    """A 12-colour result is much closer to the image than the 1-colour one."""
    pixels = make_image(dtype, layout, seed=14)
    selected = fitted_selection(pixels, layout)
    c = n_color_channels(layout)
    reference = as_rows(pixels)[selected, :c].astype(np.float64) / max_value(dtype)

    def error(n_colors: int) -> float:
        out = as_rows(quantize(pixels, n_colors, color_space=color_space, seed=0).image)
        return float(((out[selected, :c].astype(np.float64) / max_value(dtype) - reference) ** 2).mean())

    assert error(12) < 0.35 * error(1)


@space_param
@pytest.mark.parametrize("dtype", [np.dtype(np.uint16), np.dtype(np.float32), np.dtype(np.float64)], ids=str)
def test_high_precision_matches_uint8_scale(dtype, color_space) -> None:
    """uint16 / float images give about the same palette as the same picture in uint8."""
    base = make_image(np.dtype(np.float64), "rgb", seed=15)
    low = from_float(base, np.dtype(np.uint8))
    high = from_float(low.astype(np.float64) / 255.0, dtype)  # exactly the same colours
    low_result = quantize(low, 6, color_space=color_space, seed=0)
    high_result = quantize(high, 6, color_space=color_space, seed=0)
    check_result(high, "rgb", high_result, 6)
    low_error = ((low_result.image / 255.0 - low / 255.0) ** 2).mean()
    high_error = ((high_result.image / max_value(dtype) - high / max_value(dtype)) ** 2).mean()
    assert high_error <= 1.1 * low_error + 1e-6


@pytest.mark.parametrize(
    ("dtype", "step"), [(np.dtype(np.uint16), 1 / 65535), (np.dtype(np.float32), 2.0**-24)], ids=str
)
def test_many_colours_in_a_few_10_bit_cells_are_fitted_as_well_as_in_8_bits(dtype, step) -> None:
    """A deep image with more distinct colours than the fit's least number of points
    (histogram.FIT_MIN_POINTS, 65536), in fewer 10-bit cells than K: the same content as an
    8-bit image, one 8-bit step a step of the deep dtype (uint16 960 + value: 3 cells per
    channel; float32 (960 + value) * 2**-24: one cell), gives K colours and the 8-bit image's
    error, in steps of the content."""
    values = np.random.default_rng(16).integers(0, 192, (400, 400, 3), dtype=np.uint8)
    deep = ((960 + values.astype(np.float64)) * (1.0 if dtype.kind == "u" else step)).astype(dtype)
    assert len(np.unique(deep.reshape(-1, 3), axis=0)) > 65536
    result = quantize(deep, 32, seed=0)
    assert len(result.palette) == 32
    error_8 = ((quantize(values, 32, seed=0).image.astype(np.float64) - values) ** 2).mean()
    error_deep = ((result.image.astype(np.float64) - deep) / max_value(dtype) / step) ** 2
    assert error_deep.mean() <= 1.1 * error_8


@space_param
def test_few_colours_distinct_only_in_the_input_precision_are_returned_exactly(color_space) -> None:
    # 0 and a subnormal float32 become the same CIELAB point (16 + tiny - 16 == 0 in float64):
    # matching colours through the clustering space would merge them.
    pixels = np.array([[0.0, 6.052505e-39]], dtype=np.float32)
    result = quantize(pixels, 2, color_space=color_space, seed=0)
    assert np.array_equal(result.image, pixels)
    assert sorted(result.palette.colors.reshape(-1).tolist()) == sorted(pixels.reshape(-1).tolist())
