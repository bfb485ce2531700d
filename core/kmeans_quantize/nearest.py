"""Nearest-centre search: exact, chunked, and deterministic.

Distances are computed directly as ``sum_c (x_c - y_c)**2`` in float64, channel
by channel in a fixed order, never through the ``|x|^2 - 2 x.y + |y|^2``
expansion or BLAS. That makes equal distances compare equal (integer colours
tie often), so ties always go to the lowest centre index, and results do not
depend on BLAS threading. Work is split into chunks (:func:`row_chunks`) so that no
``(points x centres)`` matrix larger than :data:`CHUNK_ELEMENTS` is ever held.

Three ways to the same answer, for three uses:

* :func:`nearest` without a guess, and :func:`nearest_full` (which also ranks the
  runner-up): every point against every centre.
* :func:`nearest` with a guess, and :func:`search_near` (k-means, whose labels
  change little between iterations): first among the guessed centre's
  neighbours (:class:`CenterNeighbors`), with a full search where that cannot
  be sure.
* :class:`GridSearch` (dithering: one palette, many searches): a uniform grid over the
  clustering space, built when the palette is large enough for it to pay. Every cell
  lists the palette colours that can be nearest to some point of the cell (a colour is
  dropped if it is farther from the whole cell than another colour is at most, or if
  one of the cell's closest colours is nearer to every point of the cell), with safety
  margins far above floating-point rounding. A point is then compared only with its
  cell's few colours, by the same direct distance, which gives the same answer as a
  search over all colours. Points outside the grid are searched over all colours.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "BOUND_MARGIN",
    "CHUNK_ELEMENTS",
    "CenterNeighbors",
    "GridSearch",
    "Ranking",
    "exceeds_bound",
    "nearest",
    "nearest_full",
    "nearest_gaps",
    "point_distances",
    "row_chunks",
    "search_near",
    "squared_distances",
]

# Relative safety margin for the distance bounds: a point keeps its label
# without a search only when its bound beats the alternative by more than
# floating-point rounding could explain, so results match a plain search.
BOUND_MARGIN = 1e-9

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]

#: Upper bound on the size of any (points x centres) block of distances.
CHUNK_ELEMENTS = 1 << 17


def _chunk_rows(n_cols: int) -> int:
    """Rows per block of ``n_cols`` columns that keep the block within :data:`CHUNK_ELEMENTS`."""
    return max(1, CHUNK_ELEMENTS // max(1, n_cols))


def row_chunks(n_rows: int, n_cols: int) -> Iterator[slice]:
    """Slices of ``n_rows`` rows, each a block of ``n_cols`` columns within :data:`CHUNK_ELEMENTS`."""
    step = _chunk_rows(n_cols)
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def squared_distances(
    points: FloatArray, centers: FloatArray, out: FloatArray | None = None, scratch: FloatArray | None = None
) -> FloatArray:
    """Squared Euclidean distances, shape ``(len(points), len(centers))``.

    The caller keeps the block small (see :data:`CHUNK_ELEMENTS`). ``out`` and ``scratch``,
    if given, are work arrays of at least that shape (a caller that computes many blocks
    saves their allocation).
    """
    n, k = points.shape[0], centers.shape[0]
    out = np.empty((n, k), dtype=np.float64) if out is None else out[:n, :k]
    scratch = np.empty_like(out) if scratch is None else scratch[:n, :k]
    for channel in range(points.shape[1]):
        target = out if channel == 0 else scratch
        np.subtract(points[:, channel, None], centers[None, :, channel], out=target)
        np.square(target, out=target)
        if channel:
            out += scratch
    return out


@dataclass(frozen=True)
class Ranking:
    """The nearest and next-nearest centre of each point (plain distances).

    Attributes
    ----------
    labels : ndarray of intp
        Nearest centre; ties go to the lowest index.
    nearest_distance : ndarray
        Distance to it.
    runner_up : ndarray of intp
        Next-nearest centre (the point's own label when there is one centre).
    runner_up_distance : ndarray
        Distance to ``runner_up`` (``inf`` with one centre).
    rest : ndarray
        Lower bound on the distance to every other centre (exact third
        distance after a full search; ``inf`` with fewer than three centres).
    """

    labels: IndexArray
    nearest_distance: FloatArray
    runner_up: IndexArray
    runner_up_distance: FloatArray
    rest: FloatArray


def _pop_min(dist: FloatArray) -> tuple[IndexArray, FloatArray]:
    """Position and value of each row's minimum (first on ties), then mark it used."""
    position = dist.argmin(axis=1)
    arange = np.arange(dist.shape[0])
    value = dist[arange, position].copy()
    dist[arange, position] = np.inf
    return position, value


def nearest_full(points: FloatArray, centers: FloatArray) -> Ranking:
    """Exact :class:`Ranking` of every point by a search over all centres."""
    n, k = points.shape[0], centers.shape[0]
    labels = np.empty(n, dtype=np.intp)
    runner_up = np.empty(n, dtype=np.intp)
    nearest_sq = np.empty(n)
    second_sq = np.empty(n)
    rest_sq = np.full(n, np.inf)
    buffer = np.empty((max(1, min(n, _chunk_rows(k))), k))
    for rows in row_chunks(n, k):
        dist = squared_distances(points[rows], centers, out=buffer)
        labels[rows], nearest_sq[rows] = _pop_min(dist)
        runner_up[rows], second_sq[rows] = _pop_min(dist)
        if k > 2:
            rest_sq[rows] = dist.min(axis=1)
    if k == 1:
        runner_up[:] = labels
    return Ranking(labels, np.sqrt(nearest_sq), runner_up, np.sqrt(second_sq), np.sqrt(rest_sq))


@dataclass(frozen=True)
class CenterNeighbors:
    """Each centre's nearest centres, for searches that start from a guess.

    Attributes
    ----------
    centers : ndarray, shape (K, D)
    order : ndarray of intp, shape (K, M)
        ``order[j]``: centre ``j`` itself, then its M - 1 nearest centres.
    reach : ndarray, shape (K,)
        Distance from centre ``j`` to the closest centre *not* in ``order[j]``
        (``inf`` when every centre is listed).
    half_gap : ndarray, shape (K,)
        Half the distance from centre ``j`` to its closest other centre. A
        point closer than this to ``j`` has ``j`` as its unique nearest centre
        (triangle inequality).
    coordinates : ndarray, shape (K, D * M)
        ``centers[order]`` channel by channel: row ``j`` holds the first
        coordinate of the M listed centres, then the second, and so on. One
        contiguous row per centre makes gathering the lists of many points a
        single copy, and each channel's differences a contiguous block.
    """

    centers: FloatArray
    order: IndexArray
    reach: FloatArray
    half_gap: FloatArray
    coordinates: FloatArray

    @classmethod
    def of(cls, centers: FloatArray, previous: CenterNeighbors | None = None) -> CenterNeighbors:
        """The neighbours of ``centers``; ``previous``, the neighbours of the same centres
        before a move, saves work where its lists still hold each centre's nearest."""
        k = centers.shape[0]
        # Longer lists cost more per search but send fewer points to a full
        # search; about 1.5 sqrt(K) balanced the two on photos (8 to 32).
        m = min(k, max(8, min(32, int(1.5 * np.sqrt(k)))))
        order = np.empty((k, m), dtype=np.intp)
        sorted_sq = np.empty((k, min(k, m + 1)))
        for rows in row_chunks(k, k):
            dist = squared_distances(centers[rows], centers)
            # Put each centre first in its own list, even if another coincides.
            dist[np.arange(dist.shape[0]), np.arange(rows.start, rows.stop)] = -1.0
            if m + 1 < k and previous is not None:
                kept = _kept_lists(dist, previous.order[rows])
                order[rows], sorted_sq[rows] = kept
                continue
            if m + 1 < k:
                part = np.argpartition(dist, m, axis=1)[:, : m + 1]
            else:
                part = np.broadcast_to(np.arange(k), dist.shape)
            part_sq = np.take_along_axis(dist, part, axis=1)
            rank = np.argsort(part_sq, axis=1, kind="stable")
            order[rows] = np.take_along_axis(part, rank, axis=1)[:, :m]
            sorted_sq[rows] = np.take_along_axis(part_sq, rank, axis=1)
        root = np.sqrt(np.maximum(sorted_sq, 0.0))
        reach = root[:, m] if m < k else np.full(k, np.inf)
        half_gap = 0.5 * root[:, 1] if k > 1 else np.full(1, np.inf)
        coordinates = np.ascontiguousarray(centers[order].transpose(0, 2, 1)).reshape(k, -1)
        return cls(centers, order, reach, half_gap, coordinates)


def _kept_lists(dist: FloatArray, previous: IndexArray) -> tuple[IndexArray, FloatArray]:
    """Each row's list (sorted) and the squared distances to it and to the nearest centre outside it.

    The previous lists are kept, sorted again, where they still hold the
    nearest centres (no listed centre farther than the nearest unlisted one);
    the other rows are searched anew. Late in a k-means run few centres move
    and nearly every list is kept: the search of every row (an argpartition)
    was 45 % of the cost of the neighbours at K = 256.
    """
    m = previous.shape[1]
    listed_sq = np.take_along_axis(dist, previous, axis=1)
    outside = dist.copy()
    np.put_along_axis(outside, previous, np.inf, axis=1)
    reach_sq = outside.min(axis=1)
    rank = np.argsort(listed_sq, axis=1, kind="stable")
    order = np.take_along_axis(previous, rank, axis=1)
    sorted_sq = np.concatenate([np.take_along_axis(listed_sq, rank, axis=1), reach_sq[:, None]], axis=1)
    stale = np.flatnonzero(sorted_sq[:, m - 1] > reach_sq)
    if stale.size:
        part = np.argpartition(dist[stale], m, axis=1)[:, : m + 1]
        part_sq = np.take_along_axis(dist[stale], part, axis=1)
        rank = np.argsort(part_sq, axis=1, kind="stable")
        order[stale] = np.take_along_axis(part, rank, axis=1)[:, :m]
        sorted_sq[stale] = np.take_along_axis(part_sq, rank, axis=1)
    return order, sorted_sq


def exceeds_bound(value: FloatArray, bound: FloatArray) -> NDArray[np.bool_]:
    """``value >= bound`` with a margin for rounding: True unless clearly below."""
    return value * (1 + BOUND_MARGIN) + BOUND_MARGIN >= bound


def search_near(
    points: FloatArray, neighbors: CenterNeighbors, labels: IndexArray, own_dist: FloatArray
) -> Ranking:
    """Exact :class:`Ranking`, searching first among the guessed centre's neighbours.

    ``own_dist`` must be the distance of each point to ``centers[labels]``.
    A centre outside the guess's list is at least ``reach - own_dist`` away,
    so when the best listed centre is closer than that, and closer than every
    other listed centre, it is the answer; other points get a full search. (A
    tie between two listed centres sends the point to the full search too, so
    ties always go to the lowest index.)
    """
    centers = neighbors.centers
    n, m = points.shape[0], neighbors.order.shape[1]
    if m == centers.shape[0]:
        # Every centre is listed: a plain search is cheaper.
        return nearest_full(points, centers)
    labels_out = np.empty(n, dtype=np.intp)
    runner_up = np.empty(n, dtype=np.intp)
    nearest_sq = np.empty(n)
    second_sq = np.empty(n)
    third_sq = np.empty(n)
    n_dims = points.shape[1]
    step = _chunk_rows(m * n_dims)
    gathered = np.empty((min(n, step), n_dims * m))
    dist_buffer = np.empty((min(n, step), m))
    for rows in row_chunks(n, m * n_dims):
        own_labels = labels[rows]
        size = own_labels.size
        # mode="clip": with mode="raise" np.take buffers its output (labels are valid anyway).
        diff = np.take(neighbors.coordinates, own_labels, axis=0, out=gathered[:size], mode="clip")
        diff = diff.reshape(size, n_dims, m)
        diff -= points[rows, :, None]
        np.square(diff, out=diff)
        # Summed channel by channel in the same order as squared_distances, so
        # that a distance found here equals the one a full search finds.
        dist = dist_buffer[:size]
        np.copyto(dist, diff[:, 0])
        for channel in range(1, n_dims):
            dist += diff[:, channel]
        first, nearest_sq[rows] = _pop_min(dist)
        second, second_sq[rows] = _pop_min(dist)
        third_sq[rows] = dist.min(axis=1)
        labels_out[rows] = neighbors.order[own_labels, first]
        runner_up[rows] = neighbors.order[own_labels, second]
    best = np.sqrt(nearest_sq)
    rest = np.minimum(np.sqrt(third_sq), neighbors.reach[labels] - own_dist)
    found = Ranking(labels_out, best, runner_up, np.sqrt(second_sq), rest)
    unsure = np.flatnonzero(exceeds_bound(best, np.minimum(found.runner_up_distance, rest)))
    if unsure.size:
        full = nearest_full(points[unsure], centers)
        for name in ("labels", "nearest_distance", "runner_up", "runner_up_distance", "rest"):
            getattr(found, name)[unsure] = getattr(full, name)
    return found


def point_distances(points: FloatArray, centers: FloatArray, labels: IndexArray) -> FloatArray:
    """Squared distance of each point to its own centre ``centers[labels]``."""
    total = np.zeros(points.shape[0])
    for channel in range(points.shape[1]):
        # One column gathered by np.take: about twice as fast as centers[labels, channel].
        diff = points[:, channel] - np.take(centers[:, channel], labels)
        diff *= diff
        total += diff
    return total


def _nearest_all(points: FloatArray, centers: FloatArray) -> IndexArray:
    """Index of the nearest centre for every point, by a search over all centres."""
    n, k = points.shape[0], centers.shape[0]
    labels = np.empty(n, dtype=np.intp)
    buffer = np.empty((max(1, min(n, _chunk_rows(k))), k))
    for rows in row_chunks(n, k):
        labels[rows] = squared_distances(points[rows], centers, out=buffer).argmin(axis=1)
    return labels


def nearest(points: FloatArray, centers: FloatArray, guess: IndexArray | None = None) -> IndexArray:
    """Index of the nearest centre for every point (ties to the lowest index).

    Parameters
    ----------
    guess : ndarray of intp, optional
        A likely label per point (for example, from a k-means fit). It only
        saves work: the answer is the same with or without it.
    """
    if guess is None:
        return _nearest_all(points, centers)
    neighbors = CenterNeighbors.of(centers)
    own = np.sqrt(point_distances(points, centers, guess))
    labels: IndexArray = guess.copy()
    unsure = np.flatnonzero(exceeds_bound(own, neighbors.half_gap[guess]))
    if unsure.size:
        labels[unsure] = search_near(points[unsure], neighbors, guess[unsure], own[unsure]).labels
    return labels


# --- grid search: many searches over one palette ------------------------------------------------

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


def nearest_gaps(centers: FloatArray) -> FloatArray:
    """Distance from each centre to its nearest other centre (0 with one centre)."""
    k = centers.shape[0]
    if k < 2:
        return np.zeros(k)
    nearest_sq = np.empty(k)
    for rows in row_chunks(k, k):
        dist = squared_distances(centers[rows], centers)
        dist[np.arange(rows.stop - rows.start), np.arange(rows.start, rows.stop)] = np.inf
        nearest_sq[rows] = dist.min(axis=1)
    gaps: FloatArray = np.sqrt(nearest_sq)
    return gaps


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
        for rows in row_chunks(n, self.list_length * d):
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
            labels[rows] = nearest(points[rows], self.palette)
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
    keep: BoolArray = low_sq <= (np.minimum.reduceat(high_sq, starts) * (1 + BOUND_MARGIN))[segment]
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
        keep &= worst >= -BOUND_MARGIN * (high_sq[rival] + high_sq)
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
    pad = BOUND_MARGIN * (float(np.max(np.abs(low))) + (float(np.max(coarse)) + 2.0) * cell_width)
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
class GridSearch:
    """Exact nearest-colour search over a palette, through a :class:`_Grid` when one pays.

    For many searches over one palette (dithering searches once per wavefront or block):
    the grid is built once, then each search compares a point with its cell's few colours.
    """

    palette: FloatArray
    grid: _Grid | None

    @classmethod
    def over(cls, palette: FloatArray, low: FloatArray, high: FloatArray, mean_gap: float) -> GridSearch:
        """A search for points that mostly lie in the box ``[low, high]`` (``mean_gap``: the mean
        distance between palette colours and their nearest others, which sets the cell width)."""
        k = palette.shape[0]
        if k < _GRID_MIN_COLORS:
            return cls(palette, None)
        width = mean_gap * _CELL_FRACTION if mean_gap > 0 else max(float(np.max(high - low)), 1.0)
        return cls(palette, _build_grid(palette, low, high, width))

    def __call__(self, points: FloatArray) -> IndexArray:
        """Nearest palette index of each point (ties to the lowest index)."""
        if self.grid is None:
            return nearest(points, self.palette)
        return self.grid.search(points)
