"""Public entry points: fit a palette, apply it, or both at once.

The pipeline, one module per stage::

    pixels --prepare_pixels--> PixelData --color_histogram--> ColorHistogram
      --encode--> WeightedPoints --init_*--> centres --lloyd--> KMeansFit
      --decode--> Palette --nearest--> labels per colour --> image
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .histogram import ColorHistogram, binned_means, color_histogram
from .initialization import initial_centers
from .kmeans import Assignment, KMeansFit, WeightedPoints, lloyd, relabel
from .nearest import nearest
from .palette import Palette
from .pixels import PixelData, from_unit, prepare_pixels, to_unit
from .space import check_color_space, decode, encode

__all__ = ["quantize", "fit_palette", "apply_palette", "QuantizeResult", "ProgressCallback", "DEFAULT_TOL"]

#: Called as ``progress(stage, fraction)``; stage is "histogram", "fit" or "mapping".
ProgressCallback = Callable[[str, float], None]

#: Default ``tol``: stop once no centre moves by more than this (clustering-space units).
DEFAULT_TOL = 0.1

MAX_COLORS = 65536
INITS = ("k-means++", "random")


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
        k-means iterations run (0 when the image had few enough colours).
    converged : bool
        False if k-means stopped at ``max_iter``.
    """

    image: NDArray[Any]
    palette: Palette
    labels: NDArray[np.intp]
    inertia: float
    n_iter: int
    converged: bool


@dataclass(frozen=True)
class _Fit:
    palette: Palette
    hist: ColorHistogram
    hist_labels: NDArray[np.intp]
    inertia: float
    n_iter: int
    converged: bool


def _check_n_colors(n_colors: object) -> int:
    if isinstance(n_colors, bool) or not isinstance(n_colors, (int, np.integer)):
        raise TypeError(f"n_colors must be an integer, got {type(n_colors).__name__}")
    if not 1 <= n_colors <= MAX_COLORS:
        raise ValueError(f"n_colors must be between 1 and {MAX_COLORS}, got {n_colors}")
    return int(n_colors)


def _check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_init(init: object, n_colors: int, data: PixelData) -> str | NDArray[Any]:
    if isinstance(init, str):
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; choose 'k-means++', 'random' or an array of colours")
        return init
    centers = np.asarray(init)
    expected = (n_colors, data.n_color_channels)
    if centers.shape != expected:
        raise ValueError(
            f"init array must have shape {expected} (n_colors x colour channels), got {centers.shape}"
        )
    if centers.dtype.kind not in "uif" or not np.isfinite(centers).all():
        raise ValueError("init array must hold finite numbers")
    high = 1.0 if data.dtype.kind == "f" else np.iinfo(data.dtype).max
    if centers.min() < 0 or centers.max() > high:
        raise ValueError(f"init colours must lie in [0, {high}], the value range of the image's dtype")
    return centers


def _fit_points(
    hist: ColorHistogram, dtype: np.dtype, color_space: str
) -> tuple[WeightedPoints, NDArray[np.intp] | None]:
    """The weighted points k-means runs on, and the point of each histogram colour.

    8-bit images are fitted on their distinct colours (the second value is
    then None: point i is colour i); others on 10-bit cells.
    """
    if dtype == np.uint8:
        return WeightedPoints(encode(hist.colors, dtype, color_space), hist.counts.astype(np.float64)), None
    means, counts, cell = binned_means(hist)
    return WeightedPoints(encode(means, np.dtype(np.float64), color_space), counts.astype(np.float64)), cell


def _run_kmeans(
    points: WeightedPoints,
    n_colors: int,
    init: str | NDArray[Any],
    data: PixelData,
    color_space: str,
    n_init: int,
    max_iter: int,
    tol: float,
    seed: int | np.random.Generator | None,
    progress: ProgressCallback | None,
) -> KMeansFit:
    if len(points) <= n_colors:
        # As many points as colours (10-bit cells of a uint16/float image).
        return lloyd(points, points.points, max_iter=1)
    start = None
    if isinstance(init, str):
        rng = np.random.default_rng(seed)
        centers, start = initial_centers(
            points, n_colors, init, rng, n_init=n_init, max_iter=max_iter, tol=tol
        )
    else:
        centers = encode(init, data.dtype, color_space)

    def report(fraction: float) -> None:
        if progress is not None:
            progress("fit", fraction)

    return lloyd(points, centers, max_iter=max_iter, tol=tol, start=start, progress=report)


def _fit(
    data: PixelData,
    n_colors: object,
    color_space: object,
    init: object,
    n_init: object,
    max_iter: object,
    tol: object,
    seed: int | np.random.Generator | None,
    progress: ProgressCallback | None,
) -> _Fit:
    n_colors = _check_n_colors(n_colors)
    color_space = check_color_space(color_space)
    init = _check_init(init, n_colors, data)
    n_init = _check_positive_int("n_init", n_init)
    max_iter = _check_positive_int("max_iter", max_iter)
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating, np.integer)) or not tol >= 0:
        raise ValueError(f"tol must be a number >= 0, got {tol!r}")
    if not data.selected.any():
        raise ValueError("no pixel left to fit: the mask and/or the alpha channel exclude every pixel")

    if progress is not None:
        progress("histogram", 0.0)
    hist = color_histogram(data.selected_colors())
    if progress is not None:
        progress("histogram", 1.0)

    if len(hist) <= n_colors:
        # Few colours: the palette is the image's own colours, reproduced exactly.
        return _finish(hist, hist.colors, np.arange(len(hist)), color_space, 0.0, 0, True)

    points, cell = _fit_points(hist, data.dtype, color_space)
    fit = _run_kmeans(points, n_colors, init, data, color_space, n_init, max_iter, float(tol), seed, progress)
    if progress is not None:
        progress("fit", 1.0)
        progress("mapping", 0.0)
    # Round the centres to storable colours and map every histogram colour to
    # the nearest. Ties go to the colour that sorts first (as in apply_palette),
    # so the centres are put in that order first; equal colours end up adjacent.
    rounded = decode(fit.centers, data.dtype, color_space)
    order = np.lexsort(rounded.T[::-1])
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    colors, cluster_to_color = np.unique(rounded[order], axis=0, return_inverse=True)
    cluster_to_color = cluster_to_color.reshape(-1)
    if cell is None:
        start = Assignment(rank[fit.labels], fit.assignment.margins)
        rounded_points = encode(rounded[order], data.dtype, color_space)
        hist_labels = cluster_to_color[relabel(points, start, fit.centers[order], rounded_points)]
    else:
        guess = cluster_to_color[rank[fit.labels[cell]]]
        hist_points = encode(hist.colors, data.dtype, color_space)
        hist_labels = nearest(hist_points, encode(colors, data.dtype, color_space), guess)
    return _finish(hist, colors, hist_labels, color_space, fit.inertia, fit.n_iter, fit.converged)


def _finish(
    hist: ColorHistogram,
    colors: NDArray[Any],
    hist_labels: NDArray[np.intp],
    color_space: str,
    inertia: float,
    n_iter: int,
    converged: bool,
) -> _Fit:
    """Count pixels per colour, drop unused colours, sort by count (descending)."""
    counts = np.bincount(hist_labels, weights=hist.counts, minlength=colors.shape[0]).astype(np.int64)
    order = np.argsort(-counts, kind="stable")
    order = order[counts[order] > 0]
    new_index = np.full(colors.shape[0], -1, dtype=np.intp)
    new_index[order] = np.arange(order.size)
    palette = Palette(colors=colors[order], counts=counts[order], color_space=color_space)
    return _Fit(palette, hist, new_index[hist_labels], inertia, n_iter, converged)


def _render(
    data: PixelData, hist: ColorHistogram, hist_labels: NDArray[np.intp], colors: NDArray[Any]
) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """Write palette ``colors`` into a copy of the image; return it and per-pixel labels."""
    pixel_labels = hist_labels[hist.inverse]
    image = data.image.copy()
    flat = image.reshape(data.colors.shape[0], -1)
    labels = np.full(data.colors.shape[0], -1, dtype=np.intp)
    n_color = data.n_color_channels
    if data.all_selected:
        flat[:, :n_color] = colors[pixel_labels]
        labels[:] = pixel_labels
    else:
        flat[data.selected, :n_color] = colors[pixel_labels]
        labels[data.selected] = pixel_labels
    return image, labels.reshape(data.spatial_shape)


def fit_palette(
    pixels: NDArray[Any],
    n_colors: int,
    *,
    color_space: str = "rgb",
    init: str | ArrayLike = "k-means++",
    n_init: int = 1,
    max_iter: int = 300,
    tol: float = DEFAULT_TOL,
    seed: int | np.random.Generator | None = None,
    mask: ArrayLike | None = None,
    progress: ProgressCallback | None = None,
) -> Palette:
    """Fit a palette of at most ``n_colors`` colours to an image with k-means.

    Takes the same arguments as :func:`quantize` and returns its ``palette``
    without building the output image.
    """
    data = prepare_pixels(pixels, mask)
    return _fit(data, n_colors, color_space, init, n_init, max_iter, tol, seed, progress).palette


def quantize(
    pixels: NDArray[Any],
    n_colors: int,
    *,
    color_space: str = "rgb",
    init: str | ArrayLike = "k-means++",
    n_init: int = 1,
    max_iter: int = 300,
    tol: float = DEFAULT_TOL,
    seed: int | np.random.Generator | None = None,
    mask: ArrayLike | None = None,
    progress: ProgressCallback | None = None,
) -> QuantizeResult:
    """Reduce an image to at most ``n_colors`` colours with k-means.

    Parameters
    ----------
    pixels : ndarray, shape (H, W) or (H, W, C)
        C = 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA); dtype uint8,
        uint16, float32 or float64 (floats in [0, 1]). Not modified.
    n_colors : int
        Palette size K, 1 to 65536. An image with no more distinct colours
        than this is returned unchanged, its colours as the palette.
    color_space : {"rgb", "lab", "oklab"}
        Space the clustering runs in: "rgb" minimises the error in sRGB
        values; "lab" (CIELAB, D65) and "oklab" minimise perceived
        differences. The palette is converted back and clipped to sRGB.
    init : {"k-means++", "random"} or array of shape (n_colors, C)
        How the centres start: greedy k-means++ (weighted by pixel count),
        ``n_colors`` distinct colours drawn at random (weighted), or the
        given colours (in the image's dtype and range).
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
    seed : int, numpy Generator or None
        Seed for the initialisation; the same input, arguments and seed give
        byte-identical output. None draws fresh entropy.
    mask : bool array of shape (H, W), optional
        Only pixels where ``mask`` is True are fitted and changed.
    progress : callable, optional
        ``progress(stage, fraction)`` is called as the work advances.

    Returns
    -------
    QuantizeResult

    Notes
    -----
    Fully transparent pixels (alpha 0) are neither fitted nor changed; the
    alpha channel is copied unchanged. 8-bit images are clustered on their
    exact colour histogram, which gives the same result as clustering every
    pixel. uint16 and float images are clustered on a histogram of 10 bits
    per channel (each cell is the mean of its pixels); the final mapping of
    pixels to the palette uses their full precision.
    """
    data = prepare_pixels(pixels, mask)
    fit = _fit(data, n_colors, color_space, init, n_init, max_iter, tol, seed, progress)
    image, labels = _render(data, fit.hist, fit.hist_labels, fit.palette.colors)
    if progress is not None:
        progress("mapping", 1.0)
    return QuantizeResult(image, fit.palette, labels, fit.inertia, fit.n_iter, fit.converged)


def apply_palette(pixels: NDArray[Any], palette: Palette, mask: ArrayLike | None = None) -> NDArray[Any]:
    """Replace every pixel by its nearest palette colour.

    Nearness is measured in ``palette.color_space``. Pixels outside ``mask``
    or fully transparent keep their values; alpha is copied unchanged.

    Returns
    -------
    ndarray
        Same shape, dtype and value range as ``pixels``.
    """
    if not isinstance(palette, Palette):
        raise TypeError(f"palette must be a kmeans_quantize.Palette, got {type(palette).__name__}")
    data = prepare_pixels(pixels, mask)
    if palette.colors.shape[1] != data.n_color_channels:
        kinds = {1: "gray", 3: "RGB"}
        raise ValueError(
            f"a {kinds[palette.colors.shape[1]]} palette cannot be applied to a "
            f"{kinds[data.n_color_channels]} image"
        )
    if not data.selected.any():
        unchanged: NDArray[Any] = data.image.copy()
        return unchanged
    colors = palette.colors
    if colors.dtype != data.dtype:
        colors = from_unit(to_unit(colors, colors.dtype), data.dtype)
    hist = color_histogram(data.selected_colors())
    space = palette.color_space
    # Ties go to the palette colour that sorts first, as in quantize.
    order = np.lexsort(palette.colors.T[::-1])
    palette_points = encode(palette.colors[order], palette.colors.dtype, space)
    hist_labels = order[nearest(encode(hist.colors, data.dtype, space), palette_points)]
    return _render(data, hist, hist_labels, colors)[0]
