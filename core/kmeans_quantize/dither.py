"""Dithering: map pixels to palette indices while hiding the quantization error.

Two methods, both deterministic and both choosing, for every pixel, the
palette colour nearest to a *modified* pixel value, with the same exact rule
as :mod:`.nearest` (direct squared distances summed channel by channel in
float64; exact ties go to the lowest palette index):

``"floyd-steinberg"``
    Error diffusion [FS76]_ in raster order (rows top to bottom, each row left
    to right, no serpentine). The value of a pixel is its own colour plus
    7/16 of the error of its left neighbour, 3/16 of its upper-right, 5/16 of
    its upper and 1/16 of its upper-left neighbour, added in exactly that
    order; it is then clamped to ``bounds`` if given, mapped to the nearest
    palette colour, and its error is that value minus the chosen colour.
    Inactive pixels (and the outside of the image) neither receive nor spread
    error: the weights that would go to them are dropped, not renormalised
    over the remaining neighbours, so near a mask edge or the image border a
    pixel spreads less than its whole error.
``"ordered"``
    Bayer's 8x8 threshold matrix [Bay73]_, normalised to ``(b + 0.5) / 64 - 0.5``
    (values in (-0.5, 0.5), mean 0), times a *spread* is added to every
    channel of the pixel at ``(y, x)`` using entry ``(y % 8, x % 8)``; the sum
    is clamped to ``bounds`` if given and mapped to the nearest colour.

    The spread is local: with ``j`` the palette colour nearest to the pixel
    and ``g_j`` the distance from ``j`` to its nearest other palette colour,
    it is ``g_j / sqrt(D)``. The same offset on all D channels moves the
    value ``sqrt(D)`` times as far, so by less than half of ``g_j``: a pixel
    whose colour is in the palette always keeps it (no pattern on flat areas
    the palette already matches). A global spread such as the mean gap
    between palette colours cannot promise that: a colour whose neighbour is
    nearer than the mean would flicker. A pixel between two colours that
    differ along the offset's direction (sRGB gray levels, for example) is
    split between them in proportion to where it lies, when each is the
    other's nearest colour. Like every scalar ordered dither, the offset
    cannot mix colours that differ only at right angles to (1, ..., 1).

Floyd-Steinberg has a sequential dependency, but the pixel at ``(y, x)`` only
depends on pixels with a smaller ``x + 2 y``: all pixels on one anti-diagonal
"wavefront" ``x + 2 y = t`` are independent, so the image is processed one
wavefront at a time (about ``W + 2 H`` of them), each with numpy. In row-major
memory a wavefront is a strided slice, and the errors of the last three
wavefronts are all that is kept.

The nearest colour is found by :class:`.nearest.GridSearch`.

References
----------
.. [FS76] R. W. Floyd and L. Steinberg, "An adaptive algorithm for spatial
   greyscale", Proceedings of the Society for Information Display 17(2),
   75-77, 1976.
.. [Bay73] B. E. Bayer, "An optimum method for two-level rendition of
   continuous-tone pictures", IEEE International Conference on
   Communications, Conference Record, 26-11 to 26-15, 1973.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .choices import Dither
from .nearest import GridSearch, nearest_gaps

__all__ = ["DITHER_METHODS", "bayer_thresholds", "dither_labels"]

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]
Bounds = tuple[FloatArray, FloatArray]

#: The methods that dither (every :class:`~.choices.Dither` but "none").
DITHER_METHODS = tuple(name for name in Dither.names() if name != Dither.NONE)

# Pixels per block in ordered dithering (bounds the temporaries).
_ORDERED_BLOCK = 1 << 16


def bayer_thresholds() -> FloatArray:
    """Bayer's 8x8 ordered-dither thresholds, normalised to ``(b + 0.5) / 64 - 0.5``.

    ``b`` is the recursive index matrix [Bay73]_ built from ``[[0, 2], [3, 1]]`` by
    ``M -> [[4 M, 4 M + 2], [4 M + 3, 4 M + 1]]``; its first row is
    ``0 32 8 40 2 34 10 42``.

    Returns
    -------
    ndarray, shape (8, 8)
        Values in (-0.5, 0.5) with mean 0.
    """
    index: NDArray[np.intp] = np.zeros((1, 1), dtype=np.intp)
    for _ in range(3):
        index = np.block([[4 * index, 4 * index + 2], [4 * index + 3, 4 * index + 1]])
    thresholds: FloatArray = (index.astype(np.float64) + 0.5) / 64.0 - 0.5
    return thresholds


def _region(
    points: FloatArray, palette: FloatArray, active: BoolArray, margin: float, bounds: Bounds | None
) -> tuple[FloatArray, FloatArray]:
    """Box around the active points and the palette, widened by ``margin``, within ``bounds``.

    Raises
    ------
    ValueError
        If an active point is NaN or infinite (either shows in the minimum or maximum).
    """
    height, width, d = points.shape
    if active.all():
        # Reduce over rows first: long inner loops, several times faster than over (N, D).
        rows = points.reshape(height, width * d)
        low = rows.min(axis=0).reshape(width, d).min(axis=0)
        high = rows.max(axis=0).reshape(width, d).max(axis=0)
    else:
        selected = points[active]
        low, high = selected.min(axis=0), selected.max(axis=0)
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        raise ValueError("points must be finite where active")
    low = np.minimum(low, palette.min(axis=0)) - margin
    high = np.maximum(high, palette.max(axis=0)) + margin
    if bounds is not None:
        low = np.clip(low, bounds[0], bounds[1])
        high = np.clip(high, bounds[0], bounds[1])
    return low, np.maximum(high, low)


def _floyd_steinberg(
    points: FloatArray, palette: FloatArray, active: BoolArray, bounds: Bounds | None, search: GridSearch
) -> IndexArray:
    """Error diffusion, one anti-diagonal wavefront ``x + 2 y = t`` at a time."""
    height, width, d = points.shape
    flat = points.reshape(height * width, d)
    labels = np.empty(height * width, dtype=np.intp)
    inactive = None if active.all() else ~active.reshape(-1)
    # errors[t % 4, y + 1]: error of the pixel in row y on wavefront t. Row 0
    # (above the image) and the rows of pixels outside the image stay 0.
    errors = np.zeros((4, height + 1, d))
    value = np.empty((height, d))
    term = np.empty((height, d))
    # Along a wavefront, (y, x) -> (y + 1, x - 2): a flat-index step of W - 2
    # (a wavefront holds one pixel when W <= 2).
    step = max(width - 2, 1)
    for t in range(width + 2 * height - 2):
        slot = errors[t % 4]
        slot.fill(0.0)
        y0, y1 = max(0, (t - width + 2) // 2), min(height - 1, t // 2)
        if y0 > y1:
            continue
        n = y1 - y0 + 1
        start = y0 * width + t - 2 * y0
        pixels = slice(start, start + (n - 1) * step + 1, step)
        v, weighted = value[:n], term[:n]
        # own + 7/16 left + 3/16 upper right + 5/16 upper + 1/16 upper left, in this order.
        np.multiply(errors[(t - 1) % 4, y0 + 1 : y1 + 2], 7 / 16, out=v)
        np.add(flat[pixels], v, out=v)
        np.multiply(errors[(t - 1) % 4, y0 : y1 + 1], 3 / 16, out=weighted)
        v += weighted
        np.multiply(errors[(t - 2) % 4, y0 : y1 + 1], 5 / 16, out=weighted)
        v += weighted
        np.multiply(errors[(t - 3) % 4, y0 : y1 + 1], 1 / 16, out=weighted)
        v += weighted
        if bounds is not None:
            np.maximum(v, bounds[0], out=v)
            np.minimum(v, bounds[1], out=v)
        if inactive is not None:
            # An inactive pixel takes the value of palette colour 0, so its error is
            # exactly 0 (and its search cheap); its label is overwritten below.
            np.copyto(v, palette[0], where=inactive[pixels][:, None])
        chosen = search(v)
        np.subtract(v, np.take(palette, chosen, axis=0), out=slot[y0 + 1 : y1 + 2])
        labels[pixels] = chosen
    if inactive is not None:
        labels[inactive] = -1
    return labels.reshape(height, width)


def _ordered(
    points: FloatArray, active: BoolArray, bounds: Bounds | None, search: GridSearch, gaps: FloatArray
) -> IndexArray:
    """Ordered dithering with Bayer's 8x8 thresholds, block of rows by block of rows."""
    height, width, d = points.shape
    thresholds = bayer_thresholds()
    spreads = gaps / np.sqrt(d)
    labels = np.full((height, width), -1, dtype=np.intp)
    rows_per_block = max(1, _ORDERED_BLOCK // width)
    columns = np.arange(width) % 8
    for y0 in range(0, height, rows_per_block):
        rows = slice(y0, min(y0 + rows_per_block, height))
        selected = active[rows]
        pixels = points[rows][selected]
        threshold = thresholds[np.arange(rows.start, rows.stop) % 8][:, columns][selected]
        v = pixels + (spreads[search(pixels)] * threshold)[:, None]
        if bounds is not None:
            np.maximum(v, bounds[0], out=v)
            np.minimum(v, bounds[1], out=v)
        labels[rows][selected] = search(v)
    return labels


def _check(
    points: object, palette_points: object, active: object, method: object, bounds: object
) -> tuple[FloatArray, FloatArray, BoolArray, Bounds | None]:
    if method not in DITHER_METHODS:
        raise ValueError(f"unknown dithering method {method!r}; choose one of {', '.join(DITHER_METHODS)}")
    image = np.ascontiguousarray(points, dtype=np.float64)
    if image.ndim != 3 or image.shape[2] < 1:
        raise ValueError(f"points must have shape (H, W, D), got {image.shape}")
    palette = np.ascontiguousarray(palette_points, dtype=np.float64)
    if palette.ndim != 2 or palette.shape[0] < 1 or palette.shape[1] != image.shape[2]:
        raise ValueError(
            f"palette_points must have shape (K, {image.shape[2]}) with K >= 1, got {palette.shape}"
        )
    mask = np.asarray(active)
    if mask.dtype != np.bool_ or mask.shape != image.shape[:2]:
        raise ValueError(
            f"active must be a boolean array of shape {image.shape[:2]}, got {mask.dtype} {mask.shape}"
        )
    if not np.isfinite(palette).all():
        raise ValueError("palette_points must be finite")
    if bounds is None:
        return image, palette, mask, None
    if not isinstance(bounds, tuple) or len(bounds) != 2:
        raise ValueError("bounds must be None or a (low, high) pair")
    low, high = (np.broadcast_to(np.asarray(b, dtype=np.float64), image.shape[2:]) for b in bounds)
    if not (low <= high).all():
        raise ValueError(f"bounds must have low <= high on every channel, got {low} and {high}")
    return image, palette, mask, (low, high)


def dither_labels(
    points: FloatArray,
    palette_points: FloatArray,
    active: BoolArray,
    method: str,
    bounds: Bounds | None = None,
) -> IndexArray:
    """Palette index of every pixel, with Floyd-Steinberg or ordered dithering.

    See the module docstring for both methods and the exact nearest rule.

    Parameters
    ----------
    points : ndarray, shape (H, W, D)
        Pixel colours in the clustering space (see :mod:`.clustering_space`).
    palette_points : ndarray, shape (K, D)
        Palette colours in the same space, in tie-break order: on an exact
        tie the lower index wins.
    active : ndarray of bool, shape (H, W)
        Pixels to map. The others get label -1, and neither receive nor
        spread error.
    method : {"floyd-steinberg", "ordered"}
    bounds : (low, high) pair of arrays of shape (D,), optional
        Per-channel range (the gamut's box in the space) that every modified
        value is clamped to before the search, so error cannot build up
        beyond what the palette can represent.

    Returns
    -------
    ndarray of intp, shape (H, W)
        Index into ``palette_points``, -1 where ``active`` is False.

    Raises
    ------
    ValueError
        On an unknown method, inconsistent shapes, a non-finite palette
        colour or active point, or bounds with low > high.

    References
    ----------
    Floyd and Steinberg (1976) and Bayer (1973); see the module docstring.
    """
    image, palette, mask, limits = _check(points, palette_points, active, method, bounds)
    if not mask.any():
        return np.full(mask.shape, -1, dtype=np.intp)
    gaps = nearest_gaps(palette)
    # Ordered moves a value by less than half a gap; diffused error is mostly below a gap.
    margin = float(np.max(gaps)) / 2 if method == "ordered" else float(np.mean(gaps))
    low, high = _region(image, palette, mask, margin, limits)
    search = GridSearch.over(palette, low, high, float(np.mean(gaps)))
    if method == "ordered":
        return _ordered(image, mask, limits, search, gaps)
    return _floyd_steinberg(image, palette, mask, limits, search)
