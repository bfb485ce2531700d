"""Split–merge moves out of Lloyd's local optima, in plain Python: the twin of :mod:`.splitmerge`.

The same moves and rules as :mod:`kmeans_quantize.splitmerge` (see there for the idea and
references): split the cluster whose two-way split gains most, merge the pair whose merge
costs least (Ward's cost), rerun Lloyd, keep the move if the inertia drops by at least
:data:`MIN_GAIN`. The principal axis of a cluster comes from power iteration on its 3x3
scatter matrix instead of LAPACK. The rounds and their constants are shared with the numpy
engine (:mod:`.splitmerge_rounds`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .pure_kmeans import Fit, PointAssigner, WeightedPoints, lloyd, squared_distance
from .pure_space import Point
from .splitmerge_rounds import N_SPLITS, TRIAL_ITER, improve_by_moves
from .stopping import UNTIL_STABLE, Stopping

__all__ = ["split_merge"]

#: Power iterations for a principal axis: the axis is only a starting split, so a few
#: hundredths of a radian off changes nothing that the 2-means after it does not fix.
POWER_STEPS = 30


@dataclass(frozen=True)
class Move:
    """Split cluster ``split`` into ``halves``; merge ``merge_from`` into ``merge_into``."""

    estimate: float
    split: int
    merge_from: int
    merge_into: int
    halves: tuple[Point, Point]
    merged: Point

    def apply(self, centers: list[Point]) -> list[Point]:
        moved = list(centers)
        moved[self.merge_into] = self.merged
        moved[self.merge_from], moved[self.split] = self.halves
        return moved


def _principal_axis(points: list[Point], weights: list[float], center: Point) -> Point:
    scatter = [[0.0] * 3 for _ in range(3)]
    for p, w in zip(points, weights, strict=True):
        d = (p[0] - center[0], p[1] - center[1], p[2] - center[2])
        for a in range(3):
            for b in range(3):
                scatter[a][b] += w * d[a] * d[b]
    axis = max(scatter, key=lambda row: sum(v * v for v in row))
    for _ in range(POWER_STEPS):
        image = [sum(scatter[a][b] * axis[b] for b in range(3)) for a in range(3)]
        norm = math.sqrt(sum(v * v for v in image))
        if norm == 0.0:
            break
        axis = [v / norm for v in image]
    sign = 1.0 if max(axis, key=abs) >= 0 else -1.0  # as splitmerge: no set sign otherwise
    return axis[0] * sign, axis[1] * sign, axis[2] * sign


def _mean(points: list[Point], weights: list[float]) -> Point:
    total = sum(weights)
    return (
        sum(p[0] * w for p, w in zip(points, weights, strict=True)) / total,
        sum(p[1] * w for p, w in zip(points, weights, strict=True)) / total,
        sum(p[2] * w for p, w in zip(points, weights, strict=True)) / total,
    )


def _split_in_two(points: list[Point], weights: list[float], center: Point, tol: float) -> Fit | None:
    """2-means of one cluster from its halves on either side of the principal axis (None: one side)."""
    axis = _principal_axis(points, weights, center)
    upper = [
        (p[0] - center[0]) * axis[0] + (p[1] - center[1]) * axis[1] + (p[2] - center[2]) * axis[2] > 0
        for p in points
    ]
    if all(upper) or not any(upper):
        return None
    sides = []
    for side in (True, False):
        chosen = [i for i, up in enumerate(upper) if up is side]
        sides.append(_mean([points[i] for i in chosen], [weights[i] for i in chosen]))
    data = WeightedPoints.of(points, weights)
    return lloyd(PointAssigner(data), sides, stop=Stopping(TRIAL_ITER, tol))


def _moves(data: WeightedPoints, fit: Fit, n_fixed: int, tol: float) -> list[Move]:
    """Candidate moves for ``fit``, best estimate first. Fixed centres take no part."""
    k = len(fit.centers)
    totals = [0.0] * k
    distortion = [0.0] * k
    members: list[list[int]] = [[] for _ in range(k)]
    for i, (p, w, label) in enumerate(zip(data.points, data.weights, fit.labels, strict=True)):
        totals[label] += w
        distortion[label] += w * squared_distance(p, fit.centers[label])
        members[label].append(i)
    pairs = []
    for a in range(n_fixed, k):
        for b in range(a + 1, k):
            weight = totals[a] + totals[b]
            ward = totals[a] * totals[b] / weight if weight > 0 else 0.0
            pairs.append((ward * squared_distance(fit.centers[a], fit.centers[b]), a, b))
    pairs.sort(key=lambda pair: pair[0])
    candidates = sorted(range(n_fixed, k), key=lambda j: -distortion[j])[:N_SPLITS]
    moves = []
    for split in candidates:
        group = members[split]
        two = _split_in_two(
            [data.points[i] for i in group], [data.weights[i] for i in group], fit.centers[split], tol
        )
        if two is None:
            continue
        pair = next((pair for pair in pairs if split not in pair[1:]), None)
        if pair is None:
            continue
        ward, a, b = pair
        merge_from, merge_into = (a, b) if totals[a] <= totals[b] else (b, a)
        weight = totals[a] + totals[b]
        merged = fit.centers[merge_into]
        if weight > 0:
            (ax, ay, az), (bx, by, bz) = fit.centers[a], fit.centers[b]
            wa, wb = totals[a], totals[b]
            merged = (
                (wa * ax + wb * bx) / weight,
                (wa * ay + wb * by) / weight,
                (wa * az + wb * bz) / weight,
            )
        gain = distortion[split] - two.inertia
        halves = (two.centers[0], two.centers[1])
        moves.append(Move(ward - gain, split, merge_from, merge_into, halves, merged))
    moves.sort(key=lambda move: move.estimate)
    return moves


def split_merge(data: WeightedPoints, fit: Fit, *, n_fixed: int = 0, stop: Stopping = UNTIL_STABLE) -> Fit:
    """Improve a converged k-means ``fit`` of ``data`` by split–merge moves (as splitmerge.split_merge).

    Returns ``fit`` itself if no move helps, else the Lloyd result after the last kept
    move, whose inertia is lower than ``fit``'s.
    """
    if len(fit.centers) - n_fixed < 3:
        return fit  # a split and a merge need three distinct free clusters
    return improve_by_moves(
        fit,
        lambda best: _moves(data, best, n_fixed, stop.tol),
        lambda best, move: lloyd(
            PointAssigner(data, best.labels),
            move.apply(best.centers),
            stop=Stopping(TRIAL_ITER, stop.tol),
            n_fixed=n_fixed,
        ),
        lambda trial: lloyd(PointAssigner(data, trial.labels), trial.centers, stop=stop, n_fixed=n_fixed),
    )
