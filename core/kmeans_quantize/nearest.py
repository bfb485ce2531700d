"""Nearest-centre search: exact, chunked, and deterministic.

Distances are computed directly as ``sum_c (x_c - y_c)**2`` in float64, channel
by channel in a fixed order, never through the ``|x|^2 - 2 x.y + |y|^2``
expansion or BLAS. That makes equal distances compare equal (integer colours
tie often), so ties always go to the lowest centre index, and results do not
depend on BLAS threading. Work is split into chunks so that no
``(points x centres)`` matrix larger than :data:`CHUNK_ELEMENTS` is ever held.
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
    "exceeds_bound",
    "search_near",
    "nearest",
    "nearest_two",
    "point_distances",
    "squared_distances",
]

# Relative safety margin for the distance bounds: a point keeps its label
# without a search only when its bound beats the alternative by more than
# floating-point rounding could explain, so results match a plain search.
BOUND_MARGIN = 1e-9

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]

#: Upper bound on the size of any (points x centres) block of distances.
CHUNK_ELEMENTS = 1 << 17


def _chunks(n_rows: int, n_cols: int) -> Iterator[slice]:
    step = max(1, CHUNK_ELEMENTS // max(1, n_cols))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def squared_distances(points: FloatArray, centers: FloatArray, out: FloatArray | None = None) -> FloatArray:
    """Squared Euclidean distances, shape ``(len(points), len(centers))``.

    The caller is responsible for keeping the block small (see :func:`nearest_two`).
    """
    n, k = points.shape[0], centers.shape[0]
    if out is None:
        out = np.empty((n, k), dtype=np.float64)
    else:
        out = out[:n, :k]
    scratch = np.empty_like(out)
    for channel in range(points.shape[1]):
        target = out if channel == 0 else scratch
        np.subtract(points[:, channel, None], centers[None, :, channel], out=target)
        np.square(target, out=target)
        if channel:
            out += scratch
    return out


def nearest_two(points: FloatArray, centers: FloatArray) -> tuple[IndexArray, FloatArray, FloatArray]:
    """Nearest centre of every point, with the two smallest squared distances.

    Returns
    -------
    labels : ndarray of intp
        Index of the nearest centre; ties go to the lowest index.
    nearest_sq : ndarray of float64
        Squared distance to that centre.
    second_sq : ndarray of float64
        Squared distance to the next-nearest centre (``inf`` with one centre).
    """
    n, k = points.shape[0], centers.shape[0]
    labels = np.empty(n, dtype=np.intp)
    nearest_sq = np.empty(n, dtype=np.float64)
    second_sq = np.full(n, np.inf)
    buffer = np.empty((max(1, min(n, CHUNK_ELEMENTS // max(1, k))), k))
    for rows in _chunks(n, k):
        dist = squared_distances(points[rows], centers, out=buffer)
        best = dist.argmin(axis=1)
        arange = np.arange(dist.shape[0])
        labels[rows] = best
        nearest_sq[rows] = dist[arange, best]
        if k > 1:
            dist[arange, best] = np.inf
            second_sq[rows] = dist.min(axis=1)
    return labels, nearest_sq, second_sq


@dataclass(frozen=True)
class CenterNeighbors:
    """Each centre's list of nearby centres, for searches that start from a guess.

    Attributes
    ----------
    centers : ndarray, shape (K, D)
    order : ndarray of intp, shape (K, M)
        ``order[j]``: centre ``j`` itself, then M - 1 other centres (the
        nearest ones when the lists were made; see :meth:`moved_to`).
    reach : ndarray, shape (K,)
        Distance from centre ``j`` to the closest centre *not* in ``order[j]``
        (``inf`` when every centre is listed).
    half_gap : ndarray, shape (K,)
        Half the distance from centre ``j`` to its closest other centre. A
        point closer than this to ``j`` has ``j`` as its unique nearest centre
        (triangle inequality).
    coordinates : ndarray, shape (K, M, D)
        ``centers[order]``.
    """

    centers: FloatArray
    order: IndexArray
    reach: FloatArray
    half_gap: FloatArray
    coordinates: FloatArray

    @classmethod
    def of(cls, centers: FloatArray, n_neighbors: int = 12) -> CenterNeighbors:
        """Lists of the ``n_neighbors`` nearest centres (each centre included)."""
        k = centers.shape[0]
        m = min(k, n_neighbors)
        order = np.empty((k, m), dtype=np.intp)
        for rows in _chunks(k, k):
            dist = squared_distances(centers[rows], centers)
            # Put each centre first in its own list, even if another coincides.
            dist[np.arange(dist.shape[0]), np.arange(rows.start, rows.stop)] = -1.0
            part = (
                np.argpartition(dist, m - 1, axis=1)[:, :m]
                if m < k
                else np.broadcast_to(np.arange(k), dist.shape)
            )
            rank = np.argsort(np.take_along_axis(dist, part, axis=1), axis=1, kind="stable")
            order[rows] = np.take_along_axis(part, rank, axis=1)
        return cls._make(centers, order)

    def moved_to(self, centers: FloatArray) -> CenterNeighbors:
        """The same lists for moved centres (distances recomputed, lists kept)."""
        return self._make(centers, self.order)

    @classmethod
    def _make(cls, centers: FloatArray, order: IndexArray) -> CenterNeighbors:
        k, m = order.shape
        gap_sq = np.full(k, np.inf)
        reach_sq = np.full(k, np.inf)
        for rows in _chunks(k, k):
            dist = squared_distances(centers[rows], centers)
            arange = np.arange(dist.shape[0])
            dist[arange, np.arange(rows.start, rows.stop)] = np.inf
            gap_sq[rows] = dist.min(axis=1)
            if m < k:
                dist[arange[:, None], order[rows]] = np.inf
                reach_sq[rows] = dist.min(axis=1)
        return cls(centers, order, np.sqrt(reach_sq), 0.5 * np.sqrt(gap_sq), centers[order])

    def listed_max(self, values: FloatArray) -> FloatArray:
        """For each centre, the largest of ``values`` over the *other* listed centres."""
        if self.order.shape[1] == 1:
            return np.zeros(self.order.shape[0])
        return values[self.order[:, 1:]].max(axis=1)


def exceeds_bound(value: FloatArray, bound: FloatArray) -> NDArray[np.bool_]:
    """``value >= bound`` with a margin for rounding: True unless clearly below."""
    return value * (1 + BOUND_MARGIN) + BOUND_MARGIN >= bound


def search_near(
    points: FloatArray, neighbors: CenterNeighbors, labels: IndexArray, own_dist: FloatArray
) -> tuple[IndexArray, FloatArray, FloatArray, FloatArray]:
    """Exact nearest centre, searching first among the guessed centre's list.

    ``own_dist`` must be the distance of each point to ``centers[labels]``.
    A centre outside the guess's list is at least ``reach - own_dist`` away,
    so when the best listed centre is closer than that, and closer than every
    other listed centre, it is the answer; other points get a full search. (A
    tie between two listed centres sends the point to the full search too, so
    ties always go to the lowest index.)

    Returns
    -------
    labels : ndarray of intp
    nearest : ndarray
        Distance to the nearest centre.
    listed : ndarray
        Lower bound on the distance to the other centres in the guess's list.
    outside : ndarray
        Lower bound on the distance to the centres not in the guess's list.
        (After a full search, both bounds are the exact second distance.)
    """
    centers = neighbors.centers
    n = points.shape[0]
    if neighbors.order.shape[1] == centers.shape[0]:
        # Every centre is listed: a plain search is cheaper.
        new_labels, best_sq, second_sq = nearest_two(points, centers)
        second = np.sqrt(second_sq)
        return new_labels, np.sqrt(best_sq), second, second
    new_labels = np.empty(n, dtype=np.intp)
    best = np.empty(n)
    listed = np.empty(n)
    m = neighbors.order.shape[1]
    for rows in _chunks(n, m * points.shape[1]):
        own_labels = labels[rows]
        # One contiguous (M, D) block per point: cheaper than gathering by index.
        diff = neighbors.coordinates[own_labels] - points[rows, None, :]
        np.square(diff, out=diff)
        dist = diff[:, :, 0].copy()
        for channel in range(1, points.shape[1]):
            dist += diff[:, :, channel]
        position = dist.argmin(axis=1)
        arange = np.arange(dist.shape[0])
        new_labels[rows] = neighbors.order[own_labels, position]
        best[rows] = np.sqrt(dist[arange, position])
        dist[arange, position] = np.inf
        listed[rows] = np.sqrt(dist.min(axis=1))
    outside = neighbors.reach[labels] - own_dist
    unsure = np.flatnonzero(exceeds_bound(best, np.minimum(listed, outside)))
    if unsure.size:
        full_labels, full_best, full_second = nearest_two(points[unsure], centers)
        new_labels[unsure] = full_labels
        best[unsure] = np.sqrt(full_best)
        listed[unsure] = outside[unsure] = np.sqrt(full_second)
    return new_labels, best, listed, outside


def point_distances(points: FloatArray, centers: FloatArray, labels: IndexArray) -> FloatArray:
    """Squared distance of each point to its own centre ``centers[labels]``."""
    total = np.zeros(points.shape[0])
    for channel in range(points.shape[1]):
        diff = points[:, channel] - centers[labels, channel]
        total += diff * diff
    return total


def nearest(points: FloatArray, centers: FloatArray, guess: IndexArray | None = None) -> IndexArray:
    """Index of the nearest centre for every point (ties to the lowest index).

    Parameters
    ----------
    guess : ndarray of intp, optional
        A likely label per point (for example, from a k-means fit). It only
        saves work: the answer is the same with or without it.
    """
    if guess is None:
        return nearest_two(points, centers)[0]
    neighbors = CenterNeighbors.of(centers)
    own = np.sqrt(point_distances(points, centers, guess))
    labels = guess.copy()
    unsure = np.flatnonzero(exceeds_bound(own, neighbors.half_gap[guess]))
    if unsure.size:
        labels[unsure] = search_near(points[unsure], neighbors, guess[unsure], own[unsure])[0]
    return labels
