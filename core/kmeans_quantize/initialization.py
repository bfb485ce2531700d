"""Where the final k-means starts: seeds, settled from coarse histograms to fine ones.

The seedings, random colours (:func:`init_random`) or greedy k-means++
(:func:`init_kmeans_plusplus`), both draw from the weighted histogram, so a colour is
picked in proportion to the number of pixels that have it, exactly as if pixels were
sampled. :func:`coarse_to_fine_start` seeds on the coarsest grid of the histogram
(:func:`coarsen`), runs k-means and split–merge moves there, and settles the centres by
k-means on each finer grid, so that the exact k-means on the full histogram starts close
to convergence.

References
----------
.. [1] D. Arthur and S. Vassilvitskii, "k-means++: the advantages of careful
       seeding", SODA 2007 (greedy variant: several candidates per step, keep
       the one that lowers the potential most, as in scikit-learn).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from .choices import Init
from .kmeans import Assignment, KMeansFit, WeightedPoints, lloyd
from .nearest import nearest_full, point_distances, row_chunks, squared_distances
from .options import Options
from .splitmerge import split_merge

__all__ = ["init_random", "init_kmeans_plusplus", "coarsen", "coarse_to_fine_start"]

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]

#: Above this many points, seeding works on a coarser grid of the histogram.
COARSE_POINTS = 1 << 13
#: Cells per axis of the grids k-means settles on before the exact histogram, coarse to fine.
#: A grid is used only if it has at most 1/GRID_REDUCTION of the histogram's points.
GRIDS = (32, 64, 128)
GRID_REDUCTION = 4
#: The coarsest grid must have at least this many points per cluster: on fewer, k-means++ and
#: k-means settle in a poor solution that the exact k-means keeps (measured: a 0.5 MP photo
#: of 26,741 colours at K = 256 came out 17 % worse on its 32-grid of 870 points than on its
#: 64-grid, and 1 % worse than libimagequant).
GRID_POINTS_PER_CLUSTER = 8
#: A grid used only on the way to a finer one, or when the grid below it is too coarse: as the
#: finest grid after 32 cells it made the exact k-means of 0.2-1 MP photos end in other
#: local optima, up to 1 % worse, for 8 % less time.
INTERMEDIATE_GRID = 64
#: Split–merge refinement runs on the coarsest set if it has at least this many points per
#: cluster, and, on a grid, if the clusters' RMS radius is at least this fraction of a cell:
#: the grid's error misjudges moves among clusters smaller than its cells (measured: a 4K
#: wallpaper at K = 256, radius 0.42 cells, came out 0.5 % worse and 20 % slower; at 0.76
#: cells and above moves helped).
SPLIT_MERGE_POINTS = 24
SPLIT_MERGE_RADIUS = 0.5
#: ... and only for palettes of at most this many colours. Above, a move shifts too little of
#: the inertia to pay for its trials (measured on 21 photos of 0.2-1 MP, without split–merge
#: against with it: at K = 128 up to 1.44 % worse MSE, time 0.55-1.43x; at K = 256, where it
#: ran on 7 of the 21, at most 0.32 % worse, time 0.44-1.05x).
SPLIT_MERGE_MAX_CLUSTERS = 128


def init_random(
    data: WeightedPoints, n_clusters: int, rng: np.random.Generator, fixed: FloatArray | None = None
) -> FloatArray:
    """``n_clusters`` distinct points drawn at random, weighted by ``data.weights``.

    The ``fixed`` centres (if any) come first and count towards ``n_clusters``;
    points equal to one of them are not drawn again.
    """
    fixed = _no_fixed(data) if fixed is None else fixed
    weights = data.weights.copy()
    if len(fixed):
        weights[nearest_full(data.points, fixed).nearest_distance == 0] = 0.0
    chosen = rng.choice(len(data), size=n_clusters - len(fixed), replace=False, p=weights / weights.sum())
    centers: FloatArray = np.concatenate([fixed, data.points[chosen]])
    return centers


def _no_fixed(data: WeightedPoints) -> FloatArray:
    return np.empty((0, data.points.shape[1]))


def _bounds(points: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Lowest and highest coordinate along each axis.

    Column by column: numpy reduces an (N, 3) array along its first axis
    about 20 times slower than three columns one by one.
    """
    low = np.array([np.min(points[:, channel]) for channel in range(points.shape[1])])
    high = np.array([np.max(points[:, channel]) for channel in range(points.shape[1])])
    return low, high


def _unit_coordinates(points: FloatArray) -> list[FloatArray]:
    """Each coordinate scaled to [0, 1] over the bounding box of ``points``, one array per axis."""
    low, high = _bounds(points)
    extent = np.maximum(high - low, 1e-12)
    return [(points[:, channel] - low[channel]) / extent[channel] for channel in range(points.shape[1])]


def _cell_keys(unit: list[FloatArray], cells_per_axis: int) -> IndexArray:
    """The grid cell of every point, as one integer (cells in row-major order)."""
    key = np.zeros(unit[0].size, dtype=np.intp)
    for coordinate in unit:
        index = (coordinate * cells_per_axis).astype(np.intp)
        np.minimum(index, cells_per_axis - 1, out=index)
        key *= cells_per_axis
        key += index
    return key


def _merge_cells(
    data: WeightedPoints, key: IndexArray, n_cells: int, max_points: int | None = None
) -> tuple[WeightedPoints, IndexArray, FloatArray] | None:
    """:func:`coarsen` from the cell key of every point.

    None if more than ``max_points`` cells are occupied (checked before any mean is formed).
    """
    if n_cells <= 16 * len(data):
        # Few cells: count into every cell, then keep the occupied ones (sorted by key).
        occupied = np.flatnonzero(np.bincount(key, minlength=n_cells))
        if max_points is not None and occupied.size > max_points:
            return None
        index = np.zeros(n_cells, dtype=np.intp)
        index[occupied] = np.arange(occupied.size)
        cell = index[key]
    else:
        # Many cells (a fine grid on a small histogram): sorting the keys is cheaper than
        # arrays over every cell. Either way the cells come in ascending key order.
        occupied, cell = np.unique(key, return_inverse=True)
        if max_points is not None and occupied.size > max_points:
            return None
        cell = cell.reshape(-1)
    # np.bincount with weights returns float64, but some numpy versions' stubs type it as integers
    # whatever the weights: the asarray (no copy) gives one type under every numpy.
    totals = np.asarray(np.bincount(cell, weights=data.weights, minlength=occupied.size), dtype=np.float64)
    means = np.empty((occupied.size, data.points.shape[1]))
    for channel in range(means.shape[1]):
        means[:, channel] = np.bincount(cell, weights=data.weights * data.points[:, channel]) / totals
    offset = np.sqrt(point_distances(data.points, means, cell))
    return WeightedPoints(points=means, weights=totals), cell, offset


def coarsen(data: WeightedPoints, cells_per_axis: int = 32) -> tuple[WeightedPoints, IndexArray, FloatArray]:
    """Merge points that fall in the same grid cell into their weighted mean.

    The grid spans the bounding box of the points with ``cells_per_axis``
    cells along each axis. The means are distinct (cells are disjoint).

    Returns
    -------
    coarse : WeightedPoints
        One point per occupied cell.
    cell : ndarray of intp
        The coarse point of every input point.
    offset : ndarray
        Distance from every input point to its coarse point.
    """
    key = _cell_keys(_unit_coordinates(data.points), cells_per_axis)
    merged = _merge_cells(data, key, cells_per_axis ** data.points.shape[1])
    assert merged is not None
    return merged


def init_kmeans_plusplus(
    data: WeightedPoints, n_clusters: int, rng: np.random.Generator, fixed: FloatArray | None = None
) -> FloatArray:
    """Greedy weighted k-means++ seeding.

    Each new centre is the best of ``2 + floor(ln K)`` candidates drawn with
    probability proportional to weight times squared distance to the nearest
    centre so far. The ``fixed`` centres (if any) come first, as if already
    chosen, and count towards ``n_clusters``.
    """
    points, weights = data.points, data.weights
    fixed = _no_fixed(data) if fixed is None else fixed
    n_trials = 2 + int(math.log(n_clusters))
    centers = np.empty((n_clusters, points.shape[1]))
    centers[: len(fixed)] = fixed
    if len(fixed):
        closest = nearest_full(points, fixed).nearest_distance ** 2
    else:
        first = rng.choice(len(data), p=weights / weights.sum())
        centers[0] = points[first]
        closest = squared_distances(points, centers[:1])[:, 0]
    # Blocks over points keep the (trials x points) arrays small. Their work arrays are made
    # once, and the chosen candidate's distances are kept, not computed again: each of the K
    # steps is a dozen numpy calls on a few thousand grid points, where allocations and the
    # number of calls are most of the cost (quantize() at K = 256 on 21 photos of 0.2-1 MP,
    # against a fresh squared_distances per block and per chosen candidate: median 0.97x and
    # 0.98x the time in two runs, range 0.92-1.02x; the same seeds).
    blocks = list(row_chunks(len(data), n_trials))
    work = _CandidateWork(n_trials, blocks[0].stop)
    for index in range(max(1, len(fixed)), n_clusters):
        cumulative = np.cumsum(weights * closest)
        targets = rng.random(n_trials) * cumulative[-1]
        candidates = np.minimum(np.searchsorted(cumulative, targets, side="right"), len(data) - 1)
        coordinates = points[candidates]
        potentials = np.zeros(n_trials)
        for rows in blocks:
            candidate_sq = work.squared_distances(coordinates, points[rows])
            potentials += work.potentials(candidate_sq, closest[rows], weights[rows])
        trial = int(np.argmin(potentials))
        centers[index] = coordinates[trial]
        if len(blocks) == 1:
            chosen_sq = candidate_sq[trial]
        else:  # the work arrays hold only the last block: compute the chosen one's distances again
            chosen_sq = squared_distances(points, centers[index : index + 1])[:, 0]
        np.minimum(closest, chosen_sq, out=closest)
    return centers


class _CandidateWork:
    """Work arrays for k-means++'s candidates against one block of points, reused every step."""

    def __init__(self, n_trials: int, block_size: int) -> None:
        self.squared = np.empty((n_trials, block_size))
        self.scratch = np.empty((n_trials, block_size))
        self.weighted = np.empty((n_trials, block_size))

    def squared_distances(self, candidates: FloatArray, points: FloatArray) -> FloatArray:
        """Squared distances (candidates x points), in the work arrays."""
        return squared_distances(candidates, points, out=self.squared, scratch=self.scratch)

    def potentials(self, candidate_sq: FloatArray, closest: FloatArray, weights: FloatArray) -> FloatArray:
        """Each candidate's weighted sum of squared distances to the nearest centre, were it added."""
        reduced = np.minimum(candidate_sq, closest, out=self.weighted[:, : closest.size])
        reduced *= weights
        # Summed along contiguous rows (an (N, trials) block summed over its first axis is about
        # 10 times slower); an explicit sum, not a BLAS dot product, so the result does not
        # depend on BLAS threading.
        return reduced.sum(axis=1)


def coarse_to_fine_start(
    data: WeightedPoints, options: Options, rng: np.random.Generator, fixed: FloatArray | None = None
) -> tuple[FloatArray, Assignment]:
    """Starting centres for k-means on ``data``: seeded, then settled on coarser histograms.

    Histograms with more than :data:`COARSE_POINTS` points are merged on grids
    of 32 and then 128 cells per axis (:func:`coarsen`), each used only if it
    is much smaller than ``data`` (:data:`GRID_REDUCTION`) and has at least
    :data:`GRID_POINTS_PER_CLUSTER` points per cluster; a grid of 64 cells
    takes the place of the 32-grid when that one is too coarse. On the coarsest set, each of ``n_init``
    seedings (``init``: "k-means++" or "random") is followed by k-means; the
    result with the lowest inertia is improved by split–merge moves
    (:func:`~kmeans_quantize.splitmerge.split_merge`, when that set has at
    least :data:`SPLIT_MERGE_POINTS` points per cluster and the clusters are
    not much smaller than its cells, see :data:`SPLIT_MERGE_RADIUS`, and for at most
    :data:`SPLIT_MERGE_MAX_CLUSTERS` clusters), then
    settled again by k-means on each finer grid. The centres are returned
    (the ``fixed`` centres first, unmoved) with an assignment of the full
    ``data`` to them (a point inherits its cell's label; its margin shrinks
    by twice its distance from the cell's mean). The exact k-means on the
    full histogram then starts close to convergence and needs few
    iterations; it alone decides the result's convergence (``tol``).

    Of ``options``, ``n_colors`` (the number of clusters, ``fixed`` included), ``init``
    (a seeding), ``n_init``, ``max_iter`` and ``tol`` are used.
    """
    n_clusters, stop = options.n_colors, options.stopping
    # Each level: its points, the level point of every data point, the distance
    # between the two, and the width of the level's cells (0: the data itself).
    levels: list[tuple[WeightedPoints, IndexArray, FloatArray, float]] = []
    if len(data) > COARSE_POINTS:
        low, high = _bounds(data.points)
        extent = float(np.max(high - low))
        unit = _unit_coordinates(data.points)
        used: list[int] = []
        for cells in GRIDS:
            if cells == INTERMEDIATE_GRID and used:
                continue  # the 32-grid is fine enough: straight on to 128 (or the histogram)
            key = _cell_keys(unit, cells)
            merged = _merge_cells(data, key, cells ** data.points.shape[1], len(data) // GRID_REDUCTION)
            if merged is not None and len(merged[0]) >= GRID_POINTS_PER_CLUSTER * n_clusters:
                levels.append((*merged, extent / cells))
                used.append(cells)
    if not levels:
        levels.append((data, np.arange(len(data)), np.zeros(len(data)), 0.0))
    n_fixed = 0 if fixed is None else len(fixed)
    seeder = init_random if options.init is Init.RANDOM else init_kmeans_plusplus
    best: KMeansFit | None = None
    for _ in range(options.n_init):
        seeds = seeder(levels[0][0], n_clusters, rng, fixed)
        fit = lloyd(levels[0][0], seeds, stop=stop, n_fixed=n_fixed)
        if best is None or fit.inertia < best.inertia:
            best = fit
    assert best is not None
    coarsest, _, _, width = levels[0]
    wide_enough = best.inertia / coarsest.weights.sum() >= (SPLIT_MERGE_RADIUS * width) ** 2
    enough_points = len(coarsest) >= SPLIT_MERGE_POINTS * n_clusters
    if enough_points and wide_enough and n_clusters <= SPLIT_MERGE_MAX_CLUSTERS:
        best = split_merge(coarsest, best, n_fixed=n_fixed, stop=stop)
    for finer, _, _, _ in levels[1:]:
        best = lloyd(finer, best.centers, stop=stop, n_fixed=n_fixed)
    _, cell, offset, _ = levels[-1]
    start = Assignment(best.labels[cell], best.assignment.margins[cell] - 2.0 * offset)
    return best.centers, start
