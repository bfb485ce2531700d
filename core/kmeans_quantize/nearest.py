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
    "Ranking",
    "exceeds_bound",
    "nearest",
    "nearest_full",
    "point_distances",
    "search_near",
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


def _chunk_rows(n_cols: int) -> int:
    """Rows per block of ``n_cols`` columns that keep the block within :data:`CHUNK_ELEMENTS`."""
    return max(1, CHUNK_ELEMENTS // max(1, n_cols))


def _chunks(n_rows: int, n_cols: int) -> Iterator[slice]:
    step = _chunk_rows(n_cols)
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def squared_distances(points: FloatArray, centers: FloatArray, out: FloatArray | None = None) -> FloatArray:
    """Squared Euclidean distances, shape ``(len(points), len(centers))``.

    The caller keeps the block small (see :data:`CHUNK_ELEMENTS`).
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
    for rows in _chunks(n, k):
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
    def of(cls, centers: FloatArray) -> CenterNeighbors:
        k = centers.shape[0]
        # Longer lists cost more per search but send fewer points to a full
        # search; about 1.5 sqrt(K) balanced the two on photos (8 to 32).
        m = min(k, max(8, min(32, int(1.5 * np.sqrt(k)))))
        order = np.empty((k, m), dtype=np.intp)
        sorted_sq = np.empty((k, min(k, m + 1)))
        for rows in _chunks(k, k):
            dist = squared_distances(centers[rows], centers)
            # Put each centre first in its own list, even if another coincides.
            dist[np.arange(dist.shape[0]), np.arange(rows.start, rows.stop)] = -1.0
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
    for rows in _chunks(n, m * n_dims):
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


def nearest(points: FloatArray, centers: FloatArray, guess: IndexArray | None = None) -> IndexArray:
    """Index of the nearest centre for every point (ties to the lowest index).

    Parameters
    ----------
    guess : ndarray of intp, optional
        A likely label per point (for example, from a k-means fit). It only
        saves work: the answer is the same with or without it.
    """
    if guess is None:
        return nearest_full(points, centers).labels
    neighbors = CenterNeighbors.of(centers)
    own = np.sqrt(point_distances(points, centers, guess))
    labels: IndexArray = guess.copy()
    unsure = np.flatnonzero(exceeds_bound(own, neighbors.half_gap[guess]))
    if unsure.size:
        labels[unsure] = search_near(points[unsure], neighbors, guess[unsure], own[unsure]).labels
    return labels
