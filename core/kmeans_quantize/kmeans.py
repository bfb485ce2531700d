"""Weighted k-means (Lloyd's algorithm) on histogram points, accelerated exactly.

Each point is a distinct colour weighted by how many pixels have it, so one
iteration costs the number of distinct colours, not pixels. The assignment step
keeps, per point, lower bounds on how much closer its own centre is than its
runner-up and than every other centre (Hamerly's bounds [2], split in two and
tightened with half the distance to the nearest other centre), and skips the
search while both stay positive. With many centres, the bound against every
other centre falls only by the largest move among the own centre's nearest
centres, not among all of them: late in a run most centres stand still. Only
points near a boundary are examined, and they search the nearest centres of
their own centre first. The bounds carry a
safety margin for rounding, so the labels are exactly those a plain search
gives, ties included (lowest index wins); the centre update sums in a fixed
order. The result is therefore identical to plain Lloyd iterations over every
pixel (for integer colours, where the weighted sums are exact) and independent
of BLAS threads. Large histograms are searched in two halves in two threads,
with the same result (:class:`_ShardedSearch`).

References
----------
.. [1] S. P. Lloyd, "Least squares quantization in PCM", IEEE Trans. Inf.
       Theory 28(2), 1982.
.. [2] G. Hamerly, "Making k-means even faster", SIAM SDM 2010.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .nearest import CenterNeighbors, Ranking, nearest_full, point_distances, search_near
from .stopping import UNTIL_STABLE, Stopping

__all__ = [
    "WeightedPoints",
    "Assignment",
    "KMeansFit",
    "ClusterSums",
    "Stopping",
    "lloyd",
    "relabel",
    "reseed_empty",
]

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]

# A point keeps its label without a search only while its margin exceeds
# this: far more than the rounding error accumulated in the margins (clustering
# coordinates are at most a few hundred), far less than any real distance.
MARGIN_SLACK = 1e-7

# The shifts of the centres listed with a point's own bound its ``rest`` margin
# only when the lists hold at most 1 / _LOCAL_SHIFTS of the centres; with longer
# lists the local largest shift is about the overall largest, and the extra passes
# over the points cost more than they save (measured: K = 16, lists of 8 centres,
# 1.2 times the time).
_LOCAL_SHIFTS = 4


@dataclass(frozen=True)
class WeightedPoints:
    """Points in the clustering space with their weights (pixel counts)."""

    points: FloatArray
    weights: FloatArray

    def __len__(self) -> int:
        return int(self.points.shape[0])


@dataclass(frozen=True)
class Assignment:
    """Each point's centre, with a margin: every other centre is farther by at least that much.

    Attributes
    ----------
    labels : ndarray of intp
    margins : ndarray
        Lower bounds on (distance to the nearest other centre) minus
        (distance to the own centre); a positive margin proves the label.
    """

    labels: IndexArray
    margins: FloatArray


@dataclass(frozen=True)
class KMeansFit:
    """Outcome of :func:`lloyd`.

    Attributes
    ----------
    centers : ndarray, shape (K, D)
    labels : ndarray of intp
        Nearest centre of every point, for the final ``centers``.
    inertia : float
        Weighted sum of squared distances of points to their centres.
    n_iter : int
        Assignment steps run.
    converged : bool
        True if no label changed or no centre moved more than ``stop.tol``.
    assignment : Assignment
        ``labels`` with their margins, to start a later assignment from.
    """

    centers: FloatArray
    labels: IndexArray
    inertia: float
    n_iter: int
    converged: bool
    assignment: Assignment


class ClusterSums:
    """Weighted coordinate sums and total weight of every cluster.

    Kept up to date incrementally: after an assignment step only the points
    that changed cluster are subtracted and added. For integer coordinates and
    weights (8-bit RGB) every sum is an exact integer, so this is identical to
    summing from scratch; sums run in point order, so they are reproducible.
    """

    def __init__(self, data: WeightedPoints, labels: IndexArray, n_clusters: int) -> None:
        self.data = data
        self.n_clusters = n_clusters
        self.totals = np.zeros(n_clusters)
        self.sums = np.zeros((n_clusters, data.points.shape[1]))
        self._add(np.arange(len(data)), labels, 1.0)

    def _add(self, index: IndexArray, labels: IndexArray, sign: float) -> None:
        weights = self.data.weights[index]
        self.totals += sign * np.bincount(labels, weights=weights, minlength=self.n_clusters)
        for channel in range(self.sums.shape[1]):
            values = weights * self.data.points[index, channel]
            self.sums[:, channel] += sign * np.bincount(labels, weights=values, minlength=self.n_clusters)

    def move(self, index: IndexArray, old_labels: IndexArray, new_labels: IndexArray) -> None:
        """Account for points ``index`` moving from ``old_labels`` to ``new_labels``."""
        self._add(index, old_labels, -1.0)
        self._add(index, new_labels, 1.0)

    def means(self, centers: FloatArray, n_fixed: int = 0) -> FloatArray:
        """Cluster means; empty clusters and the first ``n_fixed`` keep their entry of ``centers``."""
        new: FloatArray = centers.copy()
        filled = self.totals > 0
        filled[:n_fixed] = False
        new[filled] = self.sums[filled] / self.totals[filled, None]
        return new


def reseed_empty(
    data: WeightedPoints, sq_dist: FloatArray, centers: FloatArray, empty: IndexArray
) -> FloatArray:
    """Move the centres listed in ``empty`` onto the worst-fitting points.

    Points are ranked by their weighted squared distance to the centre they
    were assigned to (largest first, ties to the lower point index); a point
    that coincides with a centre is skipped, so centres stay distinct.
    Deterministic: no random numbers are involved.
    """
    centers = centers.copy()
    order = np.argsort(-(data.weights * sq_dist), kind="stable")
    taken = np.ones(centers.shape[0], dtype=bool)
    taken[empty] = False
    position = 0
    for j in empty:
        while position < order.size:
            candidate = data.points[order[position]]
            position += 1
            if not (centers[taken] == candidate).all(axis=1).any():
                centers[j] = candidate
                taken[j] = True
                break
    return centers


def lloyd(
    data: WeightedPoints,
    init_centers: FloatArray,
    *,
    stop: Stopping = UNTIL_STABLE,
    start: Assignment | None = None,
    n_fixed: int = 0,
    progress: Callable[[float], None] | None = None,
) -> KMeansFit:
    """Run weighted Lloyd iterations from ``init_centers``.

    Parameters
    ----------
    data : WeightedPoints
    init_centers : ndarray, shape (K, D)
        Distinct starting centres (copied, not modified).
    start : Assignment, optional
        Labels with valid margins for ``init_centers`` (for example carried
        over from a fit on a coarser histogram). They only save work: the
        first assignment step still finds the exact nearest centres.
    n_fixed : int
        The first ``n_fixed`` centres never move (fixed palette colours).
    stop : Stopping
        The most steps, and the centre shift below which iteration stops.
        Iteration also stops when no label changes.
    progress : callable, optional
        Called with the fraction of ``stop.max_iter`` done after each iteration.

    Notes
    -----
    One iteration: assign every point to its nearest centre; stop if no label
    changed; otherwise move each centre to the weighted mean of its points
    (re-seeding empty clusters, see :func:`reseed_empty`) and stop if no
    centre moved more than ``stop.tol``.
    """
    centers = np.array(init_centers, dtype=np.float64, copy=True)
    points = data.points
    search = _search_for(points, centers, start)
    try:
        labels = search.labels
        sums = ClusterSums(data, labels, centers.shape[0])
        n_iter = 1
        while True:
            new_centers = sums.means(centers, n_fixed)
            empty = n_fixed + np.flatnonzero(sums.totals[n_fixed:] == 0)
            if empty.size:
                new_centers = reseed_empty(data, point_distances(points, centers, labels), new_centers, empty)
            shifts = np.sqrt(((new_centers - centers) ** 2).sum(axis=1))
            centers = new_centers
            if progress is not None:
                progress(n_iter / stop.max_iter)
            # Also when iteration stops here: the labels must be those of the final centres.
            moved, old_labels = search.assign(centers, shifts)
            if shifts.max() <= stop.tol or n_iter == stop.max_iter:
                converged = bool(shifts.max() <= stop.tol)
                break
            n_iter += 1
            if not moved.size:
                converged = True
                break
            sums.move(moved, old_labels, labels[moved])
        margins = search.margins()
    finally:
        search.close()
    # An explicit sum, not a BLAS dot product: the same value whatever the threads.
    inertia = float(np.sum(data.weights * point_distances(points, centers, labels)))
    return KMeansFit(centers, labels, inertia, n_iter, converged, Assignment(labels, margins))


# Up to this many point-centre distances a step, every point is searched against every
# centre: the bounds' bookkeeping (over a hundred numpy calls a step) costs more than such
# a search. Split–merge's 2-means of one cluster (a few hundred points) is the common case.
# Measured, 10 steps on random colours: 300 points in 2 clusters 0.59 ms against 1.31 ms
# with the bounds, 256 points in 16 clusters 1.11 against 2.66 ms; even near 6,000 distances.
PLAIN_SEARCH_MAX = 4096


# From this many points on, the bounded search runs on two halves of the points in two
# threads, if the process may use two cores. The same result; the time, measured inside
# quantize() on 0.3-24 MP photos: 0.85-0.95x at 88,000-117,000 colours (one case of eight
# 1.09x), 0.78-0.83x at 206,000, 0.69-0.82x on 4 and 24 MP photos. With every run split,
# split-merge's on 5,000 grid points too, a photo took 1.3x: the Python between calls dominates.
SHARD_MIN_POINTS = 80_000


def _search_for(
    points: FloatArray, centers: FloatArray, start: Assignment | None
) -> _PlainSearch | _BoundedSearch | _ShardedSearch:
    """The assignment steps for ``points``, their labels set for ``centers``."""
    if start is None and points.shape[0] * centers.shape[0] <= PLAIN_SEARCH_MAX:
        return _PlainSearch(points, centers)
    neighbors = CenterNeighbors.of(centers)
    if points.shape[0] >= SHARD_MIN_POINTS and _cores() > 1:
        return _ShardedSearch(points, neighbors, start)
    return _BoundedSearch(points, neighbors, start)


def _cores() -> int:
    """Cores this process may run on."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


class _PlainSearch:
    """Assignment steps that search every centre for every point."""

    def __init__(self, points: FloatArray, centers: FloatArray) -> None:
        self.points = points
        self.ranking = nearest_full(points, centers)
        self.labels = self.ranking.labels

    def assign(self, centers: FloatArray, shifts: FloatArray) -> tuple[IndexArray, IndexArray]:
        """Set ``labels`` (in place) to the nearest of ``centers``; the points that moved, and from where."""
        self.ranking = nearest_full(self.points, centers)
        moved = np.flatnonzero(self.ranking.labels != self.labels)
        old_labels = self.labels[moved]
        self.labels[moved] = self.ranking.labels[moved]
        return moved, old_labels

    def margins(self) -> FloatArray:
        return _Margins.of(self.ranking).margins()

    def close(self) -> None:
        """Nothing to release."""


class _BoundedSearch:
    """Assignment steps that keep :class:`_Margins` and search only the points they leave unsure."""

    def __init__(self, points: FloatArray, neighbors: CenterNeighbors, start: Assignment | None) -> None:
        self.columns = _Columns.of(points)
        self.neighbors = neighbors
        centers = neighbors.centers
        if start is None:
            ranking = nearest_full(points, centers)
            self.labels = ranking.labels
            self.bounds = _Margins.of(ranking)
        else:
            self.labels = start.labels.copy()
            own = np.sqrt(point_distances(points, centers, self.labels))
            self.bounds = _Margins.exact(self.labels, start.margins, own)
            self.bounds.assign(self.columns, self.neighbors, self.labels)

    def assign(self, centers: FloatArray, shifts: FloatArray) -> tuple[IndexArray, IndexArray]:
        """As :meth:`_PlainSearch.assign`, for centres that moved by ``shifts``."""
        return self.step(CenterNeighbors.of(centers, self.neighbors), shifts)

    def step(self, neighbors: CenterNeighbors, shifts: FloatArray) -> tuple[IndexArray, IndexArray]:
        """:meth:`assign`, with the neighbours of the moved centres."""
        self.neighbors = neighbors
        self.bounds.shrink(self.labels, shifts, neighbors)
        return self.bounds.assign(self.columns, neighbors, self.labels)

    def margins(self) -> FloatArray:
        return self.bounds.margins()

    def close(self) -> None:
        """Nothing to release."""


class _ShardedSearch:
    """:class:`_BoundedSearch` on two halves of the points, one in a second thread.

    numpy releases the GIL in its loops over arrays, so the halves run side by side;
    the labels are one array, each half a view of it, and the points that moved come
    back in point order, so the cluster sums and the result are those of one search.
    """

    def __init__(self, points: FloatArray, neighbors: CenterNeighbors, start: Assignment | None) -> None:
        cut = points.shape[0] // 2
        self.parts = (slice(0, cut), slice(cut, points.shape[0]))
        starts = [
            None if start is None else Assignment(start.labels[p], start.margins[p]) for p in self.parts
        ]
        # A worker of this search's own, stopped by close(): no thread outlives the call (a
        # process forked while one ran would inherit the pool without its thread).
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kmeans-quantize")
        self.halves = list(
            self.pool.map(
                lambda part, first: _BoundedSearch(points[part], neighbors, first), self.parts, starts
            )
        )
        self.labels = np.concatenate([half.labels for half in self.halves])
        for half, part in zip(self.halves, self.parts, strict=True):
            half.labels = self.labels[part]

    def assign(self, centers: FloatArray, shifts: FloatArray) -> tuple[IndexArray, IndexArray]:
        """As :meth:`_PlainSearch.assign`, for centres that moved by ``shifts``."""
        # Made once for both halves (they hold the same lists).
        neighbors = CenterNeighbors.of(centers, self.halves[0].neighbors)
        second = self.pool.submit(self.halves[1].step, neighbors, shifts)
        moved, old_labels = self.halves[0].step(neighbors, shifts)
        moved_after, old_after = second.result()
        return np.concatenate([moved, moved_after + self.parts[1].start]), np.concatenate(
            [old_labels, old_after]
        )

    def margins(self) -> FloatArray:
        return np.concatenate([half.margins() for half in self.halves])

    def close(self) -> None:
        """Stop the worker thread."""
        self.pool.shutdown()


def relabel(
    data: WeightedPoints, start: Assignment, old_centers: FloatArray, centers: FloatArray
) -> IndexArray:
    """Nearest of ``centers`` for every point, given an assignment to ``old_centers``.

    Exact (ties to the lowest index); when the centres moved little (for
    example, k-means centres rounded to palette colours), the margins let most
    points keep their label without a search. Duplicate centres are allowed.
    """
    search = _search_for(data.points, old_centers, start)
    try:
        search.assign(centers, np.sqrt(((centers - old_centers) ** 2).sum(axis=1)))
    finally:
        search.close()
    return search.labels


class _Margins:
    """Per point, bounds on its distances to the centres (Hamerly's bounds, refined).

    ``upper`` bounds the distance to the point's own centre from above;
    ``second`` bounds the distance to its runner-up centre from below, and
    ``rest`` the distance to every centre but the own and the runner-up. The
    runner-up is the only competitor of most points near a boundary, and its
    bound shrinks only by that centre's own shift; the rest are usually far
    and can absorb the largest shift of any centre for many iterations, or,
    with many centres, the largest shift among the own centre's neighbours
    (see :meth:`shrink`). A
    point whose lower bounds both exceed its upper bound keeps its label
    without a search. When they do not, the own distance is computed first
    (which tightens ``upper``, often enough to settle the point), then the
    runner-up's, and only then are the neighbouring centres searched.
    """

    def __init__(
        self, runner_up: IndexArray, upper: FloatArray, second: FloatArray, rest: FloatArray
    ) -> None:
        self.runner_up = runner_up
        self.upper = upper
        self.second = second
        self.rest = rest

    @classmethod
    def of(cls, ranking: Ranking) -> _Margins:
        """From an exact search."""
        return cls(ranking.runner_up, ranking.nearest_distance, ranking.runner_up_distance, ranking.rest)

    @classmethod
    def exact(cls, labels: IndexArray, margins: FloatArray, own: FloatArray) -> _Margins:
        """From one margin valid against every other centre, and the distance ``own`` to the own centre.

        The runner-up is unknown: the own label stands in for it, and
        ``rest`` alone covers every other centre. The bounds are distances,
        not distances less ``own``: the bound from the neighbour lists' reach
        (see :meth:`shrink`) holds only for a true upper bound on the own
        distance. (With 0 standing in for it, a point kept its label while a
        centre from outside its list came closer: 1 of 5,455 colours in a
        split–merge step of china.jpg at K = 64.)
        """
        return cls(labels.copy(), own.copy(), own + margins, own + margins)

    def margins(self) -> FloatArray:
        """Lower bounds on (distance to the nearest other centre) minus (distance to the own centre)."""
        margins: FloatArray = np.minimum(self.second, self.rest)
        margins -= self.upper
        return margins

    def shrink(self, labels: IndexArray, shifts: FloatArray, neighbors: CenterNeighbors) -> None:
        """Keep the bounds valid after the centres moved by ``shifts`` to ``neighbors.centers``.

        A centre can come closer to (or go farther from) a point by at most
        its shift (triangle inequality). So ``rest`` falls by the largest
        shift of any other centre; and, with many centres, by no more than
        the largest shift among the centres listed with the point's own
        (``neighbors.order``) as long as it stays within ``reach - upper``,
        which bounds the distance to every centre outside the list. Late in
        a run most centres no longer move, and the second rule lets a point
        whose neighbourhood stands still keep its bounds.
        """
        top = int(np.argmax(shifts))
        largest_other = np.full(shifts.size, shifts[top])
        if shifts.size > 1:
            largest_other[top] = np.partition(shifts, -2)[-2]
        self.upper += np.take(shifts, labels)
        self.second -= np.take(shifts, self.runner_up)
        listed = neighbors.order[:, 1:]
        if _LOCAL_SHIFTS * (listed.shape[1] + 1) > shifts.size:
            self.rest -= np.take(largest_other, labels)
            return
        # rest - largest_other <= rest - local, so the larger of the two bounds,
        # max(rest - largest_other, min(rest - local, reach - upper)), is this:
        far = np.take(neighbors.reach, labels)
        far -= self.upper
        np.maximum(far, self.rest - np.take(largest_other, labels), out=far)
        self.rest -= np.take(shifts[listed].max(axis=1), labels)
        np.minimum(self.rest, far, out=self.rest)

    def assign(
        self, columns: _Columns, neighbors: CenterNeighbors, labels: IndexArray
    ) -> tuple[IndexArray, IndexArray]:
        """Update ``labels`` in place to the nearest centres; keep the bounds valid.

        Returns the points whose label changed and their previous labels.
        """
        unsure = np.flatnonzero(self.margins() <= MARGIN_SLACK)
        if not unsure.size:
            return unsure, unsure
        own_labels = labels[unsure]
        centers = neighbors.centers
        own = np.sqrt(columns.distances(unsure, centers, own_labels))
        self.upper[unsure] = own
        second = self.second[unsure]
        rest = self.rest[unsure]
        # Closer than half the gap to the nearest other centre: every other
        # centre is at least (2 * half_gap - own) away.
        clear = 2.0 * neighbors.half_gap[own_labels] - own
        np.maximum(second, clear, out=second)
        np.maximum(rest, clear, out=rest)
        self.second[unsure] = second
        self.rest[unsure] = rest
        search = np.minimum(second, rest) - own <= MARGIN_SLACK
        # The runner-up's exact distance settles the points only the runner-up's bound held up.
        check = search & (rest - own > MARGIN_SLACK) & (self.runner_up[unsure] != own_labels)
        if check.any():
            index = unsure[check]
            runner = np.sqrt(columns.distances(index, centers, self.runner_up[index]))
            self.second[index] = runner
            search[check] = runner - own[check] <= MARGIN_SLACK
        unsure, own = unsure[search], own[search]
        if not unsure.size:
            return unsure, unsure
        found = search_near(columns.rows(unsure), neighbors, labels[unsure], own)
        self.runner_up[unsure] = found.runner_up
        self.upper[unsure] = found.nearest_distance
        self.second[unsure] = found.runner_up_distance
        self.rest[unsure] = found.rest
        moved = unsure[found.labels != labels[unsure]]
        old_labels = labels[moved]
        labels[unsure] = found.labels
        return moved, old_labels


class _Columns:
    """The points channel by channel, one contiguous array each, to gather a subset from.

    Gathering rows of an (N, D) array by index is several times slower than
    gathering D contiguous columns (measured: 0.40 ms against 3 x 0.035 ms for
    40,000 of 206,596 colours).
    """

    def __init__(self, columns: list[FloatArray]) -> None:
        self.columns = columns

    @classmethod
    def of(cls, points: FloatArray) -> _Columns:
        return cls([np.ascontiguousarray(points[:, channel]) for channel in range(points.shape[1])])

    def rows(self, index: IndexArray) -> FloatArray:
        """``points[index]``."""
        out = np.empty((index.size, len(self.columns)))
        for channel, column in enumerate(self.columns):
            np.take(column, index, out=out[:, channel])
        return out

    def distances(self, index: IndexArray, centers: FloatArray, labels: IndexArray) -> FloatArray:
        """``point_distances(points[index], centers, labels)``, with the same arithmetic."""
        total = np.zeros(index.size)
        for channel, column in enumerate(self.columns):
            diff = np.take(column, index)
            diff -= np.take(centers[:, channel], labels)
            diff *= diff
            total += diff
        return total
