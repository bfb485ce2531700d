"""Public entry points: fit a palette, apply it, or both at once.

The pipeline, one module per stage::

    keywords --Options.from_keywords--> Options
    pixels --prepare_pixels--> PixelData --color_histogram--> ColorHistogram
      --ColorSpace.encode--> WeightedPoints --coarse_to_fine_start--> centres
      --lloyd--> KMeansFit --ColorSpace.decode--> Palette
      --nearest (or dither_labels)--> labels --_paint--> image
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .choices import Dither, Init
from .clustering_space import ColorSpace
from .dither import dither_labels
from .histogram import ColorHistogram, color_histogram, fit_grid, fit_size
from .initialization import coarse_to_fine_start
from .kmeans import Assignment, KMeansFit, WeightedPoints, lloyd, relabel
from .nearest import nearest
from .options import DEFAULT_TOL, MAX_COLORS, FitKeywords, Options, QuantizeKeywords
from .palette import Palette, gray_colors
from .pixels import PixelData, convert, max_value, prepare_pixels

if TYPE_CHECKING:
    # Only for the annotations: typing has Unpack from Python 3.11 on, and at run time
    # nothing evaluates them (postponed annotations).
    from typing_extensions import Unpack

__all__ = [
    "quantize",
    "fit_palette",
    "apply_palette",
    "remap",
    "quantize_with_options",
    "fit_palette_with_options",
    "QuantizeResult",
    "ProgressCallback",
    "DEFAULT_TOL",
    "MAX_COLORS",
    "DITHERS",
]

#: Called as ``progress(stage, fraction)``; stage is "histogram", "fit" or "mapping".
ProgressCallback = Callable[[str, float], None]

#: The names ``dither`` takes.
DITHERS = Dither.names()


@dataclass(frozen=True, eq=False)
class QuantizeResult:
    """What :func:`quantize` returns.

    Attributes
    ----------
    image : ndarray
        The quantized image: same shape, dtype and value range as the input.
    palette : Palette
        The colours used, most frequent first, with pixel counts.
    labels : ndarray of intp, shape (H, W)
        Palette index of every pixel; -1 where a pixel was not quantized
        (outside ``mask``, or fully transparent).
    inertia : float
        Weighted sum of squared distances from the fitted colours to their
        k-means centres, in the clustering space (0 when no fit was needed).
    n_iter : int
        Iterations of the final k-means on the image's whole histogram (0
        when the image had few enough colours). The k-means runs that settle
        the starting colours first (on coarser grids, or on the histogram
        itself when it is small) are not counted, so a small image often
        reports 1: its final run starts converged.
    converged : bool
        False if the final k-means stopped at ``max_iter``.
    """

    image: NDArray[Any]
    palette: Palette
    labels: NDArray[np.intp]
    inertia: float
    n_iter: int
    converged: bool


@dataclass(frozen=True)
class _Fit:
    """A fitted palette and the palette index of every histogram colour.

    ``kmeans`` is the k-means run that found the palette; None when the palette
    is the image's own colours.
    """

    palette: Palette
    hist: ColorHistogram
    hist_labels: NDArray[np.intp]
    kmeans: KMeansFit | None

    def result(self, image: NDArray[Any], labels: NDArray[np.intp]) -> QuantizeResult:
        """What :func:`quantize` returns with this palette: ``image`` and its ``labels``."""
        if self.kmeans is None:  # nothing to iterate: every colour is its own cluster
            return QuantizeResult(image, self.palette, labels, 0.0, 0, True)
        kmeans = self.kmeans
        return QuantizeResult(image, self.palette, labels, kmeans.inertia, kmeans.n_iter, kmeans.converged)


@dataclass(frozen=True)
class _Start:
    """The colours a fit starts from, checked against the image and in its dtype.

    Attributes
    ----------
    fixed : ndarray, shape (F, C)
        Colours that are in the palette and never move.
    init : Init or ndarray of shape (n_colors - F, C)
        A seeding, or the given starting colours of the other centres.
    """

    fixed: NDArray[Any]
    init: Init | NDArray[Any]


def _tie_break_order(colors: NDArray[Any]) -> NDArray[np.intp]:
    """The order that sorts ``colors`` by their stored values, first channel first.

    Nearest-colour searches give an exact tie to the lower index; putting the palette in this
    order first makes ties go to the colour that sorts first, wherever the palette came from.
    """
    return np.lexsort(colors.T[::-1])


def _check_progress(progress: object) -> None:
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable or None, got {type(progress).__name__}")


def _check_colors(name: str, colors: object, n_rows: int | None, data: PixelData) -> NDArray[Any]:
    """An array of colours given by the caller, in the image's dtype and value range."""
    n_channels = data.n_color_channels
    shape = f"({'n' if n_rows is None else n_rows}, {n_channels})"
    try:
        array = np.asarray(colors)
    except ValueError:  # nested lists of different lengths
        raise ValueError(
            f"{name} must have shape {shape} for this image; its rows have different lengths"
        ) from None
    if (
        n_channels == 1
        and array.ndim == 2
        and array.shape[1] == 3
        and array.dtype.kind in "uif"
        and np.isfinite(array).all()
    ):
        array = gray_colors(array, name)  # RGB colours with R = G = B, as palette files hold
    if array.ndim != 2 or array.shape[1] != n_channels or (n_rows is not None and len(array) != n_rows):
        raise ValueError(f"{name} must have shape {shape} for this image, got {array.shape}")
    if array.dtype.kind not in "uif" or not np.isfinite(array).all():
        raise ValueError(f"{name} must hold finite numbers")
    if not array.size:
        return array
    high = max_value(data.dtype)
    low_found, high_found = array.min(), array.max()
    if low_found < 0 or high_found > high:
        found = f"down to {low_found:g}" if low_found < 0 else f"up to {high_found:g}"
        raise ValueError(f"{name} must lie in [0, {high:g}] for a {data.dtype} image, got values {found}")
    if data.dtype.kind == "u" and not np.array_equal(array, np.rint(array)):
        # Typically colours scaled to [0, 1] given for an integer image.
        fraction = array[array != np.rint(array)][0]
        raise ValueError(
            f"{name} must be whole numbers from 0 to {high:g} for a {data.dtype} image, got {fraction:g}"
        )
    return array


def _check_start(options: Options, data: PixelData) -> _Start:
    """The fixed colours and the starting colours of ``options``, checked against the image."""
    if options.fixed_colors is None:
        fixed = np.empty((0, data.n_color_channels), dtype=data.dtype)
    else:
        fixed = _check_colors("fixed_colors", options.fixed_colors, None, data)
        if len(fixed) > options.n_colors:
            raise ValueError(
                f"{len(fixed)} fixed colours do not fit in a palette of n_colors={options.n_colors}"
            )
        fixed = fixed.astype(data.dtype)
        if len(np.unique(fixed, axis=0)) != len(fixed):
            raise ValueError("fixed_colors contains the same colour twice")
    if isinstance(options.init, Init):
        return _Start(fixed, options.init)
    return _Start(fixed, _check_colors("init", options.init, options.n_colors - len(fixed), data))


def _fit_points(
    hist: ColorHistogram, dtype: np.dtype[Any], space: ColorSpace, n_colors: int
) -> tuple[WeightedPoints, NDArray[np.intp] | None]:
    """The weighted points k-means runs on, and the point of each histogram colour.

    8-bit images are fitted on their distinct colours (the second value is
    then None: point i is colour i); others on the coarsest grid of 10 bits
    per channel or finer with enough cells (:func:`~.histogram.fit_grid`),
    or on their distinct colours too when they have few or no grid has enough.
    """
    grid = None if dtype == np.uint8 else fit_grid(hist, fit_size(n_colors))
    if grid is None:
        return WeightedPoints(space.encode(hist.colors, dtype), hist.counts.astype(np.float64)), None
    means, counts, cell = grid
    return WeightedPoints(space.encode(means, np.dtype(np.float64)), counts.astype(np.float64)), cell


def _run_kmeans(
    points: WeightedPoints,
    options: Options,
    start: _Start,
    dtype: np.dtype[Any],
    progress: ProgressCallback | None,
) -> KMeansFit:
    """k-means on ``points``; the first ``len(start.fixed)`` centres of the fit are the fixed colours,
    unmoved."""
    # There are more points than free colours here: _fit handles images with few colours (their
    # own and the fixed ones at most K) itself, and a grid has at least fit_size(K) > K cells.
    space = options.color_space
    fixed_points = space.encode(start.fixed, dtype)
    assignment = None
    if isinstance(start.init, Init):
        rng = np.random.default_rng(options.seed)
        centers, assignment = coarse_to_fine_start(points, options, rng, fixed_points)
    else:
        centers = np.concatenate([fixed_points, space.encode(start.init, dtype)])

    def report(fraction: float) -> None:
        if progress is not None:
            progress("fit", fraction)

    return lloyd(
        points,
        centers,
        stop=options.stopping,
        start=assignment,
        n_fixed=len(start.fixed),
        progress=report,
    )


def _fit(data: PixelData, options: Options, progress: ProgressCallback | None) -> _Fit:
    """Fit the palette of ``options`` to the selected pixels of ``data``."""
    start = _check_start(options, data)
    if not data.selected.any():
        raise ValueError("no pixel left to fit: the mask and/or the alpha channel exclude every pixel")

    if progress is not None:
        progress("histogram", 0.0)
    hist = color_histogram(data.selected_colors())
    if progress is not None:
        progress("histogram", 1.0)

    n_colors, space, fixed = options.n_colors, options.color_space, start.fixed
    if len(hist) <= n_colors:
        own_and_fixed, index = np.unique(np.concatenate([hist.colors, fixed]), axis=0, return_inverse=True)
        if len(own_and_fixed) <= n_colors:
            # Few colours: the palette is the image's own colours (and the fixed
            # ones), and the image is reproduced exactly. Each colour is matched
            # to itself, not to its nearest in the clustering space, where two
            # distinct colours can coincide (a subnormal float and 0 in CIELAB).
            hist_labels = index.reshape(-1)[: len(hist)]
            return _finish(hist, own_and_fixed, hist_labels, fixed, space, None)

    points, cell = _fit_points(hist, data.dtype, space, n_colors)
    fit = _run_kmeans(points, options, start, data.dtype, progress)
    if progress is not None:
        progress("fit", 1.0)
        progress("mapping", 0.0)
    # Round the centres to storable colours and map every histogram colour to
    # the nearest. Ties go to the colour that sorts first (as in apply_palette),
    # so the centres are put in that order first; equal colours end up adjacent.
    rounded = space.decode(fit.centers, data.dtype)
    rounded[: len(fixed)] = fixed  # exactly as given (the fit keeps them first), whatever the rounding
    order = _tie_break_order(rounded)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    colors, cluster_to_color = np.unique(rounded[order], axis=0, return_inverse=True)
    cluster_to_color = cluster_to_color.reshape(-1)
    color_points = space.encode(colors, data.dtype)
    if cell is None:
        assignment = Assignment(rank[fit.labels], fit.assignment.margins)
        rounded_points = space.encode(rounded[order], data.dtype)
        hist_labels = cluster_to_color[relabel(points, assignment, fit.centers[order], rounded_points)]
    else:
        guess = cluster_to_color[rank[fit.labels[cell]]]
        hist_points = space.encode(hist.colors, data.dtype)
        hist_labels = nearest(hist_points, color_points, guess)
    hist_labels = _own_colors(hist.colors, hist_labels, colors, color_points)
    return _finish(hist, colors, hist_labels, fixed, space, fit)


def _own_colors(
    colors: NDArray[Any], labels: NDArray[np.intp], palette: NDArray[Any], points: NDArray[np.float64]
) -> NDArray[np.intp]:
    """``labels`` (nearest ``palette`` colours of ``colors``), with every colour that is in the palette
    labelled as itself.

    The nearest colour is searched in the clustering space, where two palette colours can be one
    point (a float below about 1e-17 and 0 in CIELAB, since 16 + tiny - 16 == 0): the search then
    gives both to the first. ``palette`` is in the dtype of ``colors``, in tie-break order (ties
    go to the first), and ``points`` are its clustering-space points. Only colours labelled with a
    palette colour that shares its point are looked at.
    """
    _, group, sizes = np.unique(points, axis=0, return_inverse=True, return_counts=True)
    shared = np.flatnonzero(sizes[group.reshape(-1)] > 1)
    if not shared.size:
        return labels
    candidates = np.flatnonzero(np.isin(labels, shared))
    # Each candidate's first equal row among the shared palette colours (then the candidates).
    rows = np.concatenate([palette[shared], colors[candidates]])
    _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    match = first[inverse.reshape(-1)[shared.size :]]
    found = match < shared.size
    labels = labels.copy()
    labels[candidates[found]] = shared[match[found]]
    return labels


def _finish(
    hist: ColorHistogram,
    colors: NDArray[Any],
    hist_labels: NDArray[np.intp],
    fixed: NDArray[Any],
    space: ColorSpace,
    fit: KMeansFit | None,
) -> _Fit:
    """Count pixels per colour, drop unused colours (not fixed ones), sort by count (descending).

    ``fit`` is the k-means that found ``colors``; None when they are the image's own.
    """
    counts = np.bincount(hist_labels, weights=hist.counts, minlength=colors.shape[0]).astype(np.int64)
    is_fixed = (colors[:, None, :] == fixed[None, :, :]).all(axis=2).any(axis=1)
    order = np.argsort(-counts, kind="stable")
    order = order[(counts[order] > 0) | is_fixed[order]]
    new_index = np.full(colors.shape[0], -1, dtype=np.intp)
    new_index[order] = np.arange(order.size)
    palette = Palette(colors=colors[order], counts=counts[order], color_space=space.name.value)
    return _Fit(palette, hist, new_index[hist_labels], fit)


def _pixel_labels(data: PixelData, hist: ColorHistogram, hist_labels: NDArray[np.intp]) -> NDArray[np.intp]:
    """Per-pixel labels (-1 where not selected) from the labels of the histogram colours.

    Spends ``hist``: when every pixel is selected, the labels are written over its inverse,
    which the callers no longer need (one array of every pixel less: 192 MB at 24 MP).
    """
    if data.all_selected:
        # Each pixel's label goes over its own colour index, which is read first (mode="clip":
        # with "raise", np.take would buffer its output; the indices are valid).
        labels: NDArray[np.intp] = np.take(hist_labels, hist.inverse, out=hist.inverse, mode="clip")
        return labels
    labels = np.full(data.colors.shape[0], -1, dtype=np.intp)
    labels[data.selected] = np.take(hist_labels, hist.inverse)
    return labels


def _dithered_labels(data: PixelData, palette: Palette, method: Dither) -> NDArray[np.intp]:
    """Per-pixel labels (-1 where not selected) with error diffusion or ordered dithering."""
    space = ColorSpace.named(palette.color_space)
    # Ties go to the palette colour that sorts first, as in the nearest mapping.
    order = _tie_break_order(palette.colors)
    height, width = data.spatial_shape
    points = space.encode(data.colors, data.dtype).reshape(height, width, -1)
    palette_points = space.encode(palette.colors[order], palette.colors.dtype)
    bounds = space.gamut_bounds(palette_points.shape[1])
    active = data.selected.reshape(height, width)
    labels = dither_labels(points, palette_points, active, method, bounds).reshape(-1)
    return np.where(labels >= 0, order[labels], -1)


def _paint(
    data: PixelData, labels: NDArray[np.intp], colors: NDArray[Any]
) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """Write palette ``colors`` into a copy of the image where ``labels`` >= 0."""
    image = data.image.copy()
    flat = image.reshape(data.colors.shape[0], -1)
    n_color = data.n_color_channels
    if (
        data.all_selected
        and type(flat) is np.ndarray
        and flat.dtype == colors.dtype
        and n_color == flat.shape[1]
    ):
        # Every value is replaced: gathered straight into the copy, with no temporary of every
        # pixel (mode="clip": with "raise", np.take would buffer its output; labels are valid).
        np.take(colors, labels, axis=0, out=flat, mode="clip")
    elif data.all_selected:
        # np.take gathers whole rows several times faster than fancy indexing.
        flat[:, :n_color] = np.take(colors, labels, axis=0)
    else:
        flat[data.selected, :n_color] = np.take(colors, labels[data.selected], axis=0)
    return image, labels.reshape(data.spatial_shape)


def _side_by_side(images: Sequence[object], masks: object | None) -> PixelData:
    """Every pixel of several images of one kind in one column (an (N, 1, C) image), with their masks.

    ``masks`` is None or a list with one mask (or None: every pixel) per image.
    """
    if not images:
        raise ValueError("the list of images is empty")
    if masks is None:
        masks = [None] * len(images)
    elif not isinstance(masks, (list, tuple)) or len(masks) != len(images):
        raise ValueError("with a list of images, mask must be a list with one mask (or None) per image")
    checked = [prepare_pixels(image, mask) for image, mask in zip(images, masks, strict=True)]
    kinds = {(data.dtype, data.image.shape[2:]) for data in checked}
    if len(kinds) > 1:
        raise ValueError("the images must be of one kind: same dtype and number of channels")
    column = np.concatenate([data.image.reshape(-1, 1, *data.image.shape[2:]) for data in checked])
    selected = np.concatenate([data.selected for data in checked])
    return prepare_pixels(column, selected.reshape(-1, 1))


def fit_palette(
    pixels: NDArray[Any] | Sequence[NDArray[Any]],
    n_colors: int,
    *,
    mask: ArrayLike | Sequence[ArrayLike | None] | None = None,
    progress: ProgressCallback | None = None,
    **settings: Unpack[FitKeywords],
) -> Palette:
    """Fit a palette of at most ``n_colors`` colours to an image with k-means.

    Takes the same arguments as :func:`quantize` and returns its ``palette``
    without building the output image. ``pixels`` may also be a list of
    images of one kind (same dtype and channels, any sizes): one palette is
    then fitted to all of them together, as if their histograms were summed
    (sprite sheets, animation frames); ``mask`` is then None or a list with
    one mask (or None) per image.
    """
    data = _pixel_data(pixels, mask)
    options = Options.from_keywords(n_colors, **settings)
    _check_progress(progress)
    return _fit(data, options, progress).palette


def fit_palette_with_options(pixels: NDArray[Any] | Sequence[NDArray[Any]], options: Options) -> Palette:
    """:func:`fit_palette` with its settings given as :class:`~.options.Options` (no mask, no
    progress), as the command line has them."""
    return _fit(_pixel_data(pixels, None), options, None).palette


def _pixel_data(
    pixels: NDArray[Any] | Sequence[NDArray[Any]], mask: ArrayLike | Sequence[ArrayLike | None] | None
) -> PixelData:
    """The pixels :func:`fit_palette` takes: one image, or a list of images fitted together."""
    if isinstance(pixels, (list, tuple)):
        return _side_by_side(pixels, mask)
    return prepare_pixels(pixels, mask)


def quantize(
    pixels: NDArray[Any],
    n_colors: int,
    *,
    mask: ArrayLike | None = None,
    progress: ProgressCallback | None = None,
    **settings: Unpack[QuantizeKeywords],
) -> QuantizeResult:
    """Reduce an image to at most ``n_colors`` colours with k-means.

    Parameters
    ----------
    pixels : ndarray, shape (H, W) or (H, W, C)
        C = 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA); dtype uint8,
        uint16, float32 or float64 (floats in [0, 1]), in either byte order
        (the output keeps the input's dtype, byte order included; palettes
        are in the native byte order). Not modified.
    n_colors : int
        Palette size K, 1 to 65536. An image with no more distinct colours
        than this is returned unchanged, its colours as the palette.
    color_space : {"rgb", "lab", "oklab"}
        Space the clustering runs in: "rgb" minimises the error in sRGB
        values; "lab" (CIELAB, D65) and "oklab" minimise perceived
        differences. The palette is converted back and clipped to sRGB.
    init : {"k-means++", "random"} or array of shape (n_colors - F, C)
        How the centres start: greedy k-means++ (weighted by pixel count),
        ``n_colors`` distinct colours drawn at random (weighted), or the
        given colours (in the image's dtype and range: whole numbers for
        integer images, so not 0-1 floats for uint8; F = number of
        ``fixed_colors``). Seeded starts are settled on a coarse histogram
        and improved there by split–merge moves
        (:mod:`kmeans_quantize.splitmerge`); given colours are used as they are.
    n_init : int
        Independent runs from different seeds; the one with the lowest
        inertia wins. Ignored when ``init`` is an array.
    max_iter : int
        Maximum k-means iterations per run.
    tol : float
        Stop once no palette colour moves by more than ``tol`` in one
        iteration, in clustering-space units: 8-bit sRGB steps for "rgb",
        CIE76 Delta E for "lab", Oklab x 100 for "oklab". Iteration also
        stops as soon as no pixel changes colour. 0 runs to full convergence.
    seed : int >= 0, numpy Generator or None
        Seed for the initialisation; the same input, arguments and seed give
        byte-identical output. None draws fresh entropy.
    mask : bool array of shape (H, W), optional
        Only pixels where ``mask`` is True are fitted and changed. If
        ``pixels`` is a numpy masked array, its masked pixels (any channel
        masked) are left out too, and the output is a masked array with the
        same mask.
    fixed_colors : array of shape (F, C), optional
        Colours (in the image's dtype and range) that are in the palette
        whatever the image holds and never move; the other n_colors - F are
        fitted around them. For a gray image, RGB colours with R = G = B
        (as palette files hold) serve as well, here and in ``init``.
    dither : {"none", "floyd-steinberg", "ordered"}
        How pixels are mapped to the palette (see :func:`apply_palette`).
        The palette's counts are those of the nearest-colour mapping.
    progress : callable or None, optional
        ``progress(stage, fraction)`` is called as the work advances.

    Returns
    -------
    QuantizeResult

    Raises
    ------
    TypeError
        For an argument of the wrong type (``max_iter="5"``, ``progress=3``).
    ValueError
        For a value out of range, or colours (``init``, ``fixed_colors``) that
        are not colours of the image's dtype.

    Notes
    -----
    Fully transparent pixels (alpha 0) are neither fitted nor changed; the
    alpha channel is copied unchanged. 8-bit images are clustered on their
    exact colour histogram, which gives the same result as clustering every
    pixel. uint16 and float images are clustered on their exact histogram
    too when it has at most 65,536 colours (or 4 per palette colour, if more);
    beyond that on the coarsest histogram of 10, 12, 14... bits per channel
    with at least that many cells (each cell is the mean of its pixels), so
    values in a narrow range are fitted as finely as the same content in 8
    bits. The final mapping of pixels to the palette uses their full precision.
    """
    data = prepare_pixels(pixels, mask)
    options = Options.from_keywords(n_colors, **settings)
    _check_progress(progress)
    return _quantize(data, options, progress)


def quantize_with_options(pixels: NDArray[Any], options: Options) -> QuantizeResult:
    """:func:`quantize` with its settings given as :class:`~.options.Options` (no mask, no
    progress), as the command line has them."""
    return _quantize(prepare_pixels(pixels), options, None)


def _quantize(data: PixelData, options: Options, progress: ProgressCallback | None) -> QuantizeResult:
    fit = _fit(data, options, progress)
    if options.dither is Dither.NONE:
        labels = _pixel_labels(data, fit.hist, fit.hist_labels)
    else:
        labels = _dithered_labels(data, fit.palette, options.dither)
    image, labels = _paint(data, labels, fit.palette.colors)
    if progress is not None:
        progress("mapping", 1.0)
    return fit.result(image, labels)


def apply_palette(
    pixels: NDArray[Any], palette: Palette, mask: ArrayLike | None = None, *, dither: str = "none"
) -> NDArray[Any]:
    """Replace every pixel by its nearest palette colour (or dither with the palette).

    Nearness is measured in ``palette.color_space``; on an exact tie the
    colour that sorts first wins, except that a pixel whose colour is in the
    palette keeps it (in CIELAB, floats below about 1e-17 are the same point
    as 0). Pixels outside ``mask`` or fully transparent keep their values;
    alpha is copied unchanged. ``apply_palette(p, quantize(p, K).palette)``
    equals ``quantize(p, K).image`` (without dithering).

    Parameters
    ----------
    palette : Palette
        Gray for a gray image (with or without alpha), RGB for an RGB one. An
        RGB palette whose colours are all gray (R = G = B), as palette files
        hold, serves a gray image too (see :meth:`Palette.to_gray`).
    dither : {"none", "floyd-steinberg", "ordered"}
        "floyd-steinberg" diffuses each pixel's error to its neighbours;
        "ordered" adds a Bayer 8x8 threshold pattern. Neither touches pixels
        outside the mask or fully transparent.

    Returns
    -------
    ndarray
        Same shape, dtype and value range as ``pixels``.
    """
    return remap(pixels, palette, mask, dither=dither)[0]


def remap(
    pixels: NDArray[Any], palette: Palette, mask: ArrayLike | None = None, *, dither: str = "none"
) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """:func:`apply_palette`, also returning each pixel's palette index (-1: unchanged)."""
    if not isinstance(palette, Palette):
        raise TypeError(f"palette must be a kmeans_quantize.Palette, got {type(palette).__name__}")
    data = prepare_pixels(pixels, mask)
    method = Dither.parse(dither, "dither")
    if data.n_color_channels == 1:
        palette = palette.to_gray()  # RGB palettes with R = G = B, as palette files hold
    elif palette.colors.shape[1] == 1:
        raise ValueError("a gray palette cannot be applied to an RGB image")
    colors = palette.colors
    if colors.dtype != data.dtype:
        colors = convert(colors, data.dtype)
    if not data.selected.any():
        return _paint(data, np.full(data.colors.shape[0], -1, dtype=np.intp), colors)
    if method is not Dither.NONE:
        return _paint(data, _dithered_labels(data, palette, method), colors)
    hist = color_histogram(data.selected_colors())
    space = ColorSpace.named(palette.color_space)
    # Ties go to the palette colour that sorts first, as in quantize.
    order = _tie_break_order(palette.colors)
    palette_points = space.encode(palette.colors[order], palette.colors.dtype)
    sorted_labels = nearest(space.encode(hist.colors, data.dtype), palette_points)
    hist_labels = order[_own_colors(hist.colors, sorted_labels, colors[order], palette_points)]
    return _paint(data, _pixel_labels(data, hist, hist_labels), colors)
