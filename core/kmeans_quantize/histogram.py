"""Colour histogram: the distinct colours of an image with their pixel counts.

k-means on the distinct colours, each weighted by its count, is the same
computation as k-means on every pixel (the weighted sums are equal), but costs
the number of colours instead of the number of pixels. The inverse index maps
the result back to pixels with one lookup each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .pixels import to_unit

__all__ = [
    "ColorHistogram",
    "color_histogram",
    "binned_means",
    "fit_grid",
    "fit_size",
    "group_means",
    "FIT_BITS",
    "FIT_MIN_POINTS",
    "FIT_POINTS_PER_COLOR",
]

#: Bits per channel of the coarsest grid that uint16 and float images are fitted on.
FIT_BITS = 10
#: k-means on a uint16 or float image runs on at least this many points (or all its distinct
#: colours, if fewer): about as many as the distinct colours of an 8-bit photo, which are
#: fitted exactly. A grid of FIT_BITS bits holds that many for most deep photos; content in a
#: narrow range of values (a noisy flat colour, a faint gradient) needs a finer one.
FIT_MIN_POINTS = 1 << 16
#: ... and at least this many points per palette colour, for the largest palettes.
FIT_POINTS_PER_COLOR = 4
#: The finest grid tried for float images: three channels of 20-bit cell indices fill 60 bits of
#: an int64 key. Finer content is fitted on its distinct colours.
_FLOAT_MAX_BITS = 20

# At or above this many pixels, 8-bit histograms count into a dense table of all 2**24 colours
# instead of radix-sorting the pixels' keys. Both are linear, but the table costs a fixed
# 30-40 ms, and the sort's scattered reads grow slower per pixel with size (measured on a
# photo's crops: 0.4 MP 14 against 53 ms, 2 MP 76 against 73 ms, 4 MP 157 against 106 ms).
_DENSE_MIN_PIXELS = 1 << 21


@dataclass(frozen=True)
class ColorHistogram:
    """Distinct colours, sorted lexicographically, with counts and inverse.

    Attributes
    ----------
    colors : ndarray, shape (U, C)
        Each distinct colour once, in the image's dtype.
    counts : ndarray of int64, shape (U,)
        Number of pixels with each colour.
    inverse : ndarray of intp, shape (N,)
        ``colors[inverse]`` rebuilds the input rows.
    """

    colors: NDArray[Any]
    counts: NDArray[np.int64]
    inverse: NDArray[np.intp]

    def __len__(self) -> int:
        return int(self.colors.shape[0])


def _pack_uint8(
    colors: NDArray[np.uint8], dtype: type[np.signedinteger[Any]]
) -> NDArray[np.signedinteger[Any]]:
    """One integer key of ``dtype`` per row: the channels' bytes, most significant first."""
    key = colors[:, 0].astype(dtype)
    for channel in range(1, colors.shape[1]):
        key <<= 8
        key |= colors[:, channel]
    return key


def _unpack_uint8(keys: NDArray[np.integer], n_channels: int) -> NDArray[np.uint8]:
    colors = np.empty((keys.size, n_channels), dtype=np.uint8)
    # Channel by channel: no (keys x channels) temporaries of the keys' width.
    for channel in range(n_channels):
        colors[:, channel] = (keys >> (8 * (n_channels - 1 - channel))) & 0xFF
    return colors


def _uint8_histogram(colors: NDArray[np.uint8]) -> ColorHistogram:
    n_keys = 1 << (8 * colors.shape[1])
    if colors.shape[1] == 1 or colors.shape[0] >= _DENSE_MIN_PIXELS:
        # Count into a table of every possible colour: linear time. The keys are intp, the
        # index type: np.bincount and np.take would each cast int32 keys to a temporary copy
        # (24 MP: two of 192 MB; 1.04-1.08 s against 1.19-1.47 s when, as here between
        # benchmark runs, the memory is fresh to the process; 0.33 s against 0.35 s when not).
        keys = _pack_uint8(colors, np.intp)
        table = np.bincount(keys, minlength=n_keys)
        present = np.flatnonzero(table)
        counts = table[present]
        # The counts are out: the table becomes each colour's index (only the entries of
        # present colours are read), which spares a second table of every colour.
        table[present] = np.arange(present.size)
        # Each pixel's index goes over its own key, which is read first: no third array of
        # every pixel. (mode="clip": with "raise", np.take would buffer its output.)
        inverse = np.take(table, keys, out=keys, mode="clip")
        return ColorHistogram(_unpack_uint8(present, colors.shape[1]), counts, inverse)
    # Sort by a radix sort on the key's bytes: numpy's stable sort of 8- and 16-bit integers is a
    # radix sort, linear in the pixels. Measured on 0.4 MP photos: 8 ms, against 42 ms for
    # np.sort of the keys and np.searchsorted for every pixel's index.
    keys = _pack_uint8(colors, np.int32)
    order = _radix_order(keys, 8 * colors.shape[1])
    ordered = keys[order]
    first = np.empty(ordered.size, dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    inverse = np.empty(keys.size, dtype=np.intp)
    inverse[order] = np.cumsum(first) - 1
    counts = np.diff(np.append(starts, ordered.size)).astype(np.int64)
    return ColorHistogram(_unpack_uint8(ordered[starts], colors.shape[1]), counts, inverse)


def _radix_order(keys: NDArray[np.int32], bits: int) -> NDArray[np.intp]:
    """The stable sorting permutation of non-negative ``keys`` below ``2**bits``.

    Least significant 16 bits first; each pass is a stable sort of 8- or 16-bit digits.
    """
    order: NDArray[np.intp] = np.arange(keys.size)
    for shift in range(0, bits, 16):
        width = min(16, bits - shift)
        digits = ((keys[order] if shift else keys) >> shift) & ((1 << width) - 1)
        digit_type = np.uint8 if width <= 8 else np.uint16
        step = np.argsort(digits.astype(digit_type), kind="stable")
        order = step if not shift else order[step]
    return order


def color_histogram(colors: NDArray[Any]) -> ColorHistogram:
    """Histogram of the rows of ``colors`` (shape ``(N, C)``, N > 0)."""
    if colors.dtype == np.uint8:
        return _uint8_histogram(colors)
    # Normalise -0.0 to 0.0 so equal values share one entry.
    rows = colors + colors.dtype.type(0) if colors.dtype.kind == "f" else colors
    unique, inverse, counts = np.unique(rows, axis=0, return_inverse=True, return_counts=True)
    return ColorHistogram(unique, counts.astype(np.int64), inverse.reshape(-1))


def binned_means(
    hist: ColorHistogram, bits: int = FIT_BITS
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.intp]]:
    """Merge histogram colours into ``bits``-per-channel cells.

    Returns each occupied cell's mean colour as floats in ``[0, 1]`` (weighted
    by pixel counts, so the cell stands exactly for the sum of its pixels),
    its pixel count, and the cell of every histogram colour. Used to fit
    uint16 and float images, whose distinct colours can number in millions.
    """
    unit = to_unit(hist.colors, hist.colors.dtype)
    if hist.colors.dtype.kind == "u":
        cells = (hist.colors >> (8 * hist.colors.dtype.itemsize - bits)).astype(np.int64)
    else:
        cells = np.minimum((unit * (1 << bits)).astype(np.int64), (1 << bits) - 1)
    key: NDArray[np.int64] = np.zeros(len(hist), dtype=np.int64)
    for channel in range(cells.shape[1]):
        key = (key << bits) | cells[:, channel]
    means, counts, group = group_means(unit, hist.counts.astype(np.float64), key)
    return means, counts.astype(np.int64), group


def fit_size(n_colors: int) -> int:
    """How many points k-means on a uint16 or float image runs on at least, for ``n_colors``."""
    return max(FIT_MIN_POINTS, FIT_POINTS_PER_COLOR * n_colors)


def fit_grid(
    hist: ColorHistogram, min_cells: int
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.intp]] | None:
    """:func:`binned_means` on the coarsest grid with at least ``min_cells`` occupied cells.

    Grids of :data:`FIT_BITS` bits per channel and finer (in steps of 2 bits) are tried in
    turn. Returns None when the histogram has at most ``min_cells`` colours, or no grid coarser
    than its own precision has enough cells: it is then to be fitted on its distinct colours,
    so that an image with more distinct colours than the palette has always gets every colour.
    """
    if len(hist) <= min_cells:
        return None
    dtype = hist.colors.dtype
    # uint16: 16 bits is the colours themselves.
    finest = 8 * dtype.itemsize - 1 if dtype.kind == "u" else _FLOAT_MAX_BITS
    for bits in range(FIT_BITS, finest + 1, 2):
        binned = binned_means(hist, bits)
        if len(binned[0]) >= min_cells:
            return binned
    return None


def group_means(
    values: NDArray[np.float64], weights: NDArray[np.float64], key: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.intp]]:
    """Weighted mean of the rows of ``values`` that share a ``key``.

    Returns the means and total weights of the groups, in increasing key
    order, and the group of every row.
    """
    _, group = np.unique(key, return_inverse=True)
    group = group.reshape(-1)
    # Weighted counts are float64; asarray (no copy) says so for the stubs that type them as integers.
    totals = np.asarray(np.bincount(group, weights=weights), dtype=np.float64)
    means = np.stack(
        [np.bincount(group, weights=weights * values[:, c]) / totals for c in range(values.shape[1])], axis=1
    )
    return means, totals, group
