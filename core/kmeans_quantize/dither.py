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

The nearest-colour search uses a uniform grid over the clustering space
when the palette is large enough for it to pay: every cell lists the palette
colours that can be nearest to some point of the cell (a colour is dropped if
it is farther from the whole cell than another colour is at most, or if one of
the cell's closest colours is nearer to every point of the cell), with safety
margins far above floating-point rounding. A point is then compared only with
its cell's few colours, by the same direct distance, which gives the same
answer as a search over all colours. Points outside the grid are searched
over all colours, in chunks (:func:`.nearest.squared_distances`).

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

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .choices import Dither
from .nearest import CHUNK_ELEMENTS, squared_distances

__all__ = ["DITHER_METHODS", "bayer_thresholds", "dither_labels"]

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]
Bounds = tuple[FloatArray, FloatArray]

#: The methods that dither (every :class:`~.choices.Dither` but "none").
DITHER_METHODS = tuple(name for name in Dither.names() if name != Dither.NONE)

# Relative safety margin of the grid's candidate tests (rounding is ~1e-16).
_MARGIN = 1e-9
# Grid cell width as a fraction of the mean gap between palette colours
# (smaller: shorter lists, costlier grid).
_CELL_FRACTION = 0.5
# Limits on the grid: cells, (cell, colour) pairs tested at once while building
# it, and entries in its tables (cells x list length x (D + 1)).
_MAX_CELLS = 1 << 18
_MAX_PAIRS = 1 << 19
_MAX_TABLE = 1 << 24
# Each listed colour is tested against this many of the cell's closest colours.
_DOMINATORS = 4
# Smallest palette for which a grid is built (see _build_grid for when it is used).
_GRID_MIN_COLORS = 8
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


def _nearest_gaps(palette_points: FloatArray) -> FloatArray:
    """Distance from each palette colour to its nearest other colour (0 with one colour)."""
    k = palette_points.shape[0]
    if k < 2:
        return np.zeros(k)
    nearest_sq = np.empty(k)
    step = max(1, CHUNK_ELEMENTS // k)
    for start in range(0, k, step):
        stop = min(start + step, k)
        dist = squared_distances(palette_points[start:stop], palette_points)
        dist[np.arange(stop - start), np.arange(start, stop)] = np.inf
        nearest_sq[start:stop] = dist.min(axis=1)
    gaps: FloatArray = np.sqrt(nearest_sq)
    return gaps


def _nearest_all(points: FloatArray, palette: FloatArray) -> IndexArray:
    """Nearest palette index of each point by a search over all colours, in chunks."""
    labels = np.empty(points.shape[0], dtype=np.intp)
    step = max(1, CHUNK_ELEMENTS // palette.shape[0])
    buffer = np.empty((min(step, points.shape[0]), palette.shape[0]))
    for start in range(0, points.shape[0], step):
        rows = slice(start, min(start + step, points.shape[0]))
        labels[rows] = squared_distances(points[rows], palette, out=buffer).argmin(axis=1)
    return labels


@dataclass(frozen=True)
class _Grid:
    """Candidate colours per cell of a uniform grid (see the module docstring).

    The interior cells cover ``[low, low + n * width)`` on each axis; one layer
    of border cells on each side catches every point outside, and those
    points are searched over the whole palette.

    Attributes
    ----------
    palette : ndarray, shape (K, D)
    origin : ndarray, shape (D,)
        Lower corner of the border layer (``low - width``).
    inv_width : float
    top : ndarray, shape (D,)
        Index of the upper border layer on each axis (``n + 1``).
    strides : ndarray of intp, shape (D,)
        Flat-index strides of the padded grid.
    indices : ndarray of intp, shape (cells, M)
        Candidate palette indices per cell, ascending, padded by repeating
        the first (a repeat never wins: ``argmin`` takes the first minimum).
    coordinates : ndarray, shape (cells, M * D)
        ``palette[indices]``, one contiguous row per cell.
    replicate : ndarray, shape (D, M * D)
        M identity matrices side by side.
    outside : ndarray of bool, shape (cells,)
        The border cells.
    """

    palette: FloatArray
    origin: FloatArray
    inv_width: float
    top: FloatArray
    strides: IndexArray
    indices: IndexArray
    coordinates: FloatArray
    replicate: FloatArray
    outside: BoolArray

    @property
    def list_length(self) -> int:
        return int(self.indices.shape[1])

    def search(self, points: FloatArray) -> IndexArray:
        """Nearest palette index of each point, shape ``(n,)``; ``points`` is ``(n, D)``."""
        n, d = points.shape
        labels = np.empty(n, dtype=np.intp)
        step = max(1, CHUNK_ELEMENTS // (self.list_length * d))
        for start in range(0, n, step):
            rows = slice(start, min(start + step, n))
            labels[rows] = self._search_block(points[rows])
        return labels

    def _search_block(self, points: FloatArray) -> IndexArray:
        n, d = points.shape
        m = self.list_length
        position = (points - self.origin) * self.inv_width
        np.maximum(position, 0.0, out=position)
        np.minimum(position, self.top, out=position)
        cells = position.astype(np.intp) @ self.strides
        # ``points @ replicate`` repeats each point m times (one term times 1,
        # the rest 0: exact), much faster than np.tile for these shapes.
        diff = points @ self.replicate
        diff -= np.take(self.coordinates, cells, axis=0)
        np.square(diff, out=diff)
        per_channel = diff.reshape(n, m, d)
        if d == 1:
            dist = per_channel[:, :, 0]
        else:
            dist = per_channel[:, :, 0] + per_channel[:, :, 1]
            for channel in range(2, d):
                dist += per_channel[:, :, channel]
        labels: IndexArray = self.indices.reshape(-1)[cells * m + dist.argmin(axis=1)]
        outside = self.outside[cells]
        if outside.any():
            rows = np.flatnonzero(outside)
            labels[rows] = _nearest_all(points[rows], self.palette)
        return labels


@dataclass(frozen=True)
class _Cells:
    """The cells of one level of the grid :func:`_build_grid` refines.

    Cell ``c`` is the box from ``low + corners[c] * width`` to one ``width``
    further on every axis, widened by ``pad`` on every side.
    """

    palette: FloatArray
    corners: IndexArray
    low: FloatArray
    width: float
    pad: float

    def halved(self) -> _Cells:
        """The next level: each cell split in two along every axis (``2**D`` children, in order)."""
        d = self.corners.shape[1]
        offsets = np.indices((2,) * d).reshape(d, -1).T
        corners = (2 * self.corners[:, None, :] + offsets[None, :, :]).reshape(-1, d)
        return _Cells(self.palette, corners, self.low, self.width / 2, self.pad)


def _select(level: _Cells, cells: IndexArray, colors: IndexArray) -> BoolArray:
    """Which (cell, colour) pairs to keep: the colours that may be nearest to a point of the cell.

    Pairs are sorted by cell, then colour; every cell in their range has one.
    Two exact tests, each keeping a colour whenever it could be nearest or
    tie:

    1. Its smallest squared distance to the box must not exceed the smallest,
       over the cell's colours, largest squared distance to the box (that
       colour is at least as near to every point of the box).
    2. None of the :data:`_DOMINATORS` colours with the smallest largest
       distance may beat it everywhere: colour i beats j on a box when
       ``|x - p_i|^2 < |x - p_j|^2`` at every point x of the box. The
       difference is a sum over axes of functions linear in ``x_c``, so its
       largest value on the box is the sum over axes of the larger of its
       values at the two edges.
    """
    n_axes = level.palette.shape[1]
    lows = [level.low[axis] + level.corners[cells, axis] * level.width - level.pad for axis in range(n_axes)]
    highs = [lo + (level.width + 2.0 * level.pad) for lo in lows]
    coords = [level.palette[colors, axis] for axis in range(n_axes)]
    low_sq = np.zeros(cells.size)
    high_sq = np.zeros(cells.size)
    for lo, hi, p in zip(lows, highs, coords, strict=True):
        gap = np.maximum(np.maximum(lo - p, p - hi), 0.0)
        reach = np.maximum(p - lo, hi - p)
        low_sq += gap * gap
        high_sq += reach * reach
    new_cell = np.concatenate(([True], cells[1:] != cells[:-1]))
    starts = np.flatnonzero(new_cell)
    segment = np.cumsum(new_cell) - 1
    keep: BoolArray = low_sq <= (np.minimum.reduceat(high_sq, starts) * (1 + _MARGIN))[segment]
    # Test 2, among the survivors (each cell keeps at least its closest colour).
    survivors = np.flatnonzero(keep)
    order = survivors[np.lexsort((high_sq[survivors], segment[survivors]))]
    first = np.searchsorted(segment[order], np.arange(starts.size))
    rank = np.arange(order.size) - first[segment[order]]
    # Pair indices of each cell's rivals; a cell with fewer colours repeats its closest.
    rivals = np.repeat(order[first][:, None], _DOMINATORS, axis=1)
    for slot in range(1, _DOMINATORS):
        chosen = order[rank == slot]
        rivals[segment[chosen], slot] = chosen
    for slot in range(_DOMINATORS):
        rival = rivals[segment, slot]
        worst = np.zeros(cells.size)
        for lo, hi, p in zip(lows, highs, coords, strict=True):
            q = p[rival]
            worst += np.maximum((lo - q) ** 2 - (lo - p) ** 2, (hi - q) ** 2 - (hi - p) ** 2)
        keep &= worst >= -_MARGIN * (high_sq[rival] + high_sq)
    return keep


def _refine(finer: _Cells, cells: IndexArray, colors: IndexArray) -> tuple[IndexArray, IndexArray]:
    """The pairs of ``finer``'s cells, from the pairs of its parent level.

    Each child cell tests only its parent's colours: a colour that cannot be
    nearest anywhere in the parent cannot be nearest in a child, which lies
    inside it. The children of parent ``p`` are cells ``p * 2**D`` to
    ``(p + 1) * 2**D - 1`` of ``finer`` (see :meth:`_Cells.halved`). Parents
    are taken in groups so that at most :data:`_MAX_PAIRS` pairs are tested
    at once.
    """
    fan = 1 << finer.palette.shape[1]
    n_parents = finer.corners.shape[0] // fan
    counts = np.bincount(cells, minlength=n_parents)
    ends = np.cumsum(counts)
    kept_cells, kept_colors = [], []
    parent = 0
    while parent < n_parents:
        done = int(ends[parent - 1]) if parent else 0
        stop = max(parent + 1, int(np.searchsorted(ends, done + _MAX_PAIRS // fan, side="right")))
        children = np.arange(parent * fan, stop * fan)
        child_counts = counts[children // fan]
        shift = ends[children // fan] - counts[children // fan] - (np.cumsum(child_counts) - child_counts)
        source = np.repeat(shift, child_counts) + np.arange(int(child_counts.sum()))
        child_cells, child_colors = np.repeat(children, child_counts), colors[source]
        keep = _select(finer, child_cells, child_colors)
        kept_cells.append(child_cells[keep])
        kept_colors.append(child_colors[keep])
        parent = stop
    return np.concatenate(kept_cells), np.concatenate(kept_colors)


def _grid_shape(extent: FloatArray, width: float, k: int) -> tuple[float, int, IndexArray]:
    """Coarse cell width, number of halvings and coarse cells per axis for a grid over ``extent``.

    The cells end at least ``width`` wide, at most :data:`_MAX_CELLS` of them;
    the coarse grid has at most :data:`_MAX_PAIRS` (cell, colour) pairs, or
    a single cell.
    """
    while True:
        levels = 0
        coarse = np.floor(extent / width).astype(np.intp) + 1
        while np.prod(coarse) > 1 and np.prod(coarse) * k > _MAX_PAIRS:
            levels += 1
            coarse = np.floor(extent / (width * 2**levels)).astype(np.intp) + 1
        total = float(np.prod(coarse)) * 2.0 ** (levels * extent.size)
        if total <= _MAX_CELLS:
            return width * 2**levels, levels, coarse
        width *= (total / _MAX_CELLS) ** (1.0 / extent.size) * 1.01


def _build_grid(palette: FloatArray, low: FloatArray, high: FloatArray, width: float) -> _Grid | None:
    """Candidate lists for a grid of cubic cells of about ``width`` over the box ``[low, high]``.

    Starts from a coarse grid where every colour is tested in every cell,
    then halves the cells until they are ``width`` wide. Returns None when
    the lists are too long for the grid to pay (over half the palette) or
    the tables would be too large.
    """
    k, d = palette.shape
    cell_width, levels, coarse = _grid_shape(high - low, width, k)
    # Widen every cell by far more than the rounding of a point's cell index.
    pad = _MARGIN * (float(np.max(np.abs(low))) + (float(np.max(coarse)) + 2.0) * cell_width)
    level = _Cells(palette, np.indices(tuple(coarse)).reshape(d, -1).T, low, cell_width, pad)
    cells = np.repeat(np.arange(level.corners.shape[0]), k)
    colors = np.tile(np.arange(k), level.corners.shape[0])
    keep = _select(level, cells, colors)
    cells, colors = cells[keep], colors[keep]
    for _ in range(levels):
        level = level.halved()
        cells, colors = _refine(level, cells, colors)
    cell_width, corners = level.width, level.corners
    counts = np.bincount(cells, minlength=corners.shape[0])
    m = int(np.max(counts))
    padded = coarse * 2**levels + 2
    if 2 * m > k or np.prod(padded) * m * (d + 1) > _MAX_TABLE:
        return None
    first = np.cumsum(counts) - counts
    lists = np.repeat(colors[first][:, None], m, axis=1)
    lists[cells, np.arange(cells.size) - first[cells]] = colors
    # Embed in a grid with one layer of border cells on each side.
    inner = np.ravel_multi_index(tuple((corners + 1).T), tuple(padded))
    indices = np.zeros((int(np.prod(padded)), m), dtype=np.intp)
    indices[inner] = lists
    outside = np.ones(indices.shape[0], dtype=bool)
    outside[inner] = False
    return _Grid(
        palette=palette,
        origin=low - cell_width,
        inv_width=1.0 / cell_width,
        top=(padded - 1).astype(np.float64),
        strides=np.array([int(np.prod(padded[axis + 1 :])) for axis in range(d)], dtype=np.intp),
        indices=indices,
        coordinates=palette[indices].reshape(indices.shape[0], m * d),
        replicate=np.tile(np.eye(d), (1, m)),
        outside=outside,
    )


@dataclass(frozen=True)
class _Search:
    """Exact nearest-colour search over a palette, through a :class:`_Grid` when one pays."""

    palette: FloatArray
    grid: _Grid | None

    @classmethod
    def over(cls, palette: FloatArray, low: FloatArray, high: FloatArray, mean_gap: float) -> _Search:
        """A search for points that mostly lie in the box ``[low, high]``."""
        k = palette.shape[0]
        if k < _GRID_MIN_COLORS:
            return cls(palette, None)
        width = mean_gap * _CELL_FRACTION if mean_gap > 0 else max(float(np.max(high - low)), 1.0)
        return cls(palette, _build_grid(palette, low, high, width))

    def __call__(self, points: FloatArray) -> IndexArray:
        if self.grid is None:
            return _nearest_all(points, self.palette)
        return self.grid.search(points)


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
    points: FloatArray, palette: FloatArray, active: BoolArray, bounds: Bounds | None, search: _Search
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
    points: FloatArray, active: BoolArray, bounds: Bounds | None, search: _Search, gaps: FloatArray
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
    gaps = _nearest_gaps(palette)
    # Ordered moves a value by less than half a gap; diffused error is mostly below a gap.
    margin = float(np.max(gaps)) / 2 if method == "ordered" else float(np.mean(gaps))
    low, high = _region(image, palette, mask, margin, limits)
    search = _Search.over(palette, low, high, float(np.mean(gaps)))
    if method == "ordered":
        return _ordered(image, mask, limits, search, gaps)
    return _floyd_steinberg(image, palette, mask, limits, search)
