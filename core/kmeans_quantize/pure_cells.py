"""Colours grouped in cells of the RGB cube: coarse points for seeding, bounds for exact labels.

A cell holds the distinct colours whose channels agree in their top ``bits``
bits, with their exact weighted sum and total count, so its mean stands for
them exactly in every sum k-means takes. :class:`CellAssigner` gives every
colour its exact nearest centre while looking at most colours only through
their cell: with ``m`` the cell's mean and ``R`` the distance from ``m`` to
its farthest colour, every colour of the cell has the mean's nearest centre
``a`` when ``d(m, a) + R`` is below ``d(m, c) - R`` for every other centre ``c``
(triangle inequality); only the colours of the other cells are looked at one
by one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, compress, groupby, repeat
from operator import itemgetter, mul

from .pure_kmeans import (
    Assigner,
    BoundedPoints,
    Neighbors,
    Products,
    Shifts,
    WeightedPoints,
    squared_distance,
)
from .pure_space import Point

__all__ = ["Cells", "CellAssigner", "cell_mask", "cells_of"]


def cell_mask(bits: int) -> int:
    """The mask that keeps the top ``bits`` bits of each channel of a packed colour."""
    byte = (0xFF << (8 - bits)) & 0xFF
    return byte | byte << 8 | byte << 16


@dataclass(frozen=True)
class Cells:
    """Distinct colours grouped by cell; the colours of a cell are adjacent.

    Attributes
    ----------
    colors : WeightedPoints
        Every distinct colour's point, pixel count and weighted sum.
    coarse : WeightedPoints
        One point per cell: the mean of its colours, their count and exact sum.
    starts : list of int
        Cell ``j`` holds the colours ``starts[j]`` to ``starts[j + 1] - 1``.
    radius : list of float
        Distance from each cell's mean to its farthest colour.
    scatter : list of float
        Weighted sum of squared distances from each cell's colours to its mean.
    keys : list of int
        Each cell's packed colour with the bits below the cell's cleared.
    """

    colors: WeightedPoints
    coarse: WeightedPoints
    starts: list[int]
    radius: list[float]
    scatter: list[float]
    keys: list[int]

    def members(self, cell: int) -> range:
        return range(self.starts[cell], self.starts[cell + 1])


def cells_of(colors: WeightedPoints, keys: Sequence[int], bits: int) -> Cells:
    """Group ``colors`` (packed colours ``keys``) by their top ``bits`` bits per channel.

    The colours of one cell must be adjacent: ``keys`` sorted by ``key & cell_mask(bits)``.
    """
    mask = cell_mask(bits)
    cell_keys = []
    sizes = []
    for key, run in groupby(map(mask.__and__, keys)):
        cell_keys.append(key)
        sizes.append(len(list(run)))
    starts = [0, *accumulate(sizes)]
    points, weights, sums = colors.points, colors.weights, colors.sums
    # The products weight * point are added where they are made, unless given (Products).
    products = isinstance(sums, Products)
    means, totals, cell_sums, radius, scatter = [], [], [], [], []
    for start, stop in zip(starts, starts[1:]):  # noqa: B905 - starts is one longer
        group_points, group_weights = points[start:stop], weights[start:stop]
        total = sum(group_weights)
        if products:
            s = (
                sum(map(mul, group_weights, map(itemgetter(0), group_points))),
                sum(map(mul, group_weights, map(itemgetter(1), group_points))),
                sum(map(mul, group_weights, map(itemgetter(2), group_points))),
            )
        else:
            group = sums[start:stop]
            s = (
                sum(map(itemgetter(0), group)),
                sum(map(itemgetter(1), group)),
                sum(map(itemgetter(2), group)),
            )
        mean = (s[0] / total, s[1] / total, s[2] / total)
        # math.dist is accurate to an ulp or so: far inside the bounds' MARGIN_SLACK.
        distances = list(map(math.dist, repeat(mean), group_points))
        means.append(mean)
        totals.append(total)
        cell_sums.append(s)
        radius.append(max(distances))
        scatter.append(sum(map(mul, group_weights, map(mul, distances, distances))))
    return Cells(colors, WeightedPoints(means, totals, cell_sums), starts, radius, scatter, cell_keys)


class CellAssigner(Assigner):
    """Exact labels of every colour of ``cells``, found cell by cell.

    A cell is *whole* while its mean's bounds, widened by the cell's radius,
    prove that every colour in it has the mean's centre
    (:class:`~kmeans_quantize.pure_kmeans.BoundedPoints` with radii). When
    they fail even with exact distances, the cell is *split*: its colours
    join the *loose* colours, which have labels and bounds of their own,
    until the mean's bounds prove the cell whole again (a boundary between
    clusters that passed by has moved on).

    ``guess``, a likely label of every cell's mean, only saves work. So do
    ``means``: the means (``cells.coarse.points``) with their exact labels and
    valid bounds for the centres that :meth:`start` gets, as a
    :class:`~kmeans_quantize.pure_kmeans.PointAssigner` on ``cells.coarse`` ends
    with. Only the means whose bounds then prove no cell are searched again, not
    all: at K = 16 on a 4 MP photo's 47,270 6-bit cells, start took 0.24 s with
    every mean searched.
    """

    def __init__(
        self, cells: Cells, guess: Sequence[int] | None = None, means: BoundedPoints | None = None
    ) -> None:
        self.cells = cells
        self.guess = guess
        self.given = means
        self.means = BoundedPoints()
        self.whole: list[bool] = []
        #: The colours of the split cells; the index in ``cells.colors`` of each, and
        #: whether it is still loose (its cell may have become whole again).
        self.loose = BoundedPoints()
        self.loose_index: list[int] = []
        self.alive: list[bool] = []
        #: Split cell -> position of its first colour in ``loose``.
        self.loose_at: dict[int, int] = {}

    def start(self, centers: list[Point]) -> None:
        self.totals = [0.0] * len(centers)
        self.sums = [[0.0, 0.0, 0.0] for _ in centers]
        neighbors = Neighbors(centers)
        coarse = self.cells.coarse
        if self.given is None:
            self.means = BoundedPoints()
            self.means.extend(coarse.points, neighbors, self.guess, self.cells.radius)
        else:
            self.means = self.given.with_radius(self.cells.radius)
        self.whole = [True] * len(coarse.points)
        self.loose, self.loose_index, self.alive, self.loose_at = BoundedPoints(), [], [], {}
        for label, weight, (sx, sy, sz) in zip(self.means.labels, coarse.weights, coarse.sums, strict=True):
            self._add(label, weight, sx, sy, sz)
        for cell in range(len(coarse.points)):
            if not self.means.proven(cell, neighbors):
                if self.given is not None:
                    # Bounds carried through Lloyd's iterations are looser than a search's.
                    self.means.search_again(cell, neighbors)
                    if self.means.proven(cell, neighbors):
                        continue
                self._split(cell, neighbors)

    def _split(self, cell: int, neighbors: Neighbors) -> bool:
        """Make a whole cell's colours loose; True if any gets another label than the mean's."""
        cells, label = self.cells, self.means.labels[cell]
        members = cells.members(cell)
        self.whole[cell] = False
        start = len(self.loose.labels)
        self.loose_at[cell] = start
        self.loose.extend_around(
            cells.colors.points[members.start : members.stop], neighbors, cell, self.means
        )
        self.loose_index.extend(members)
        self.alive.extend(repeat(True, len(members)))
        moved = False
        weights, sums = cells.colors.weights, cells.colors.sums
        for i, new in zip(members, self.loose.labels[start:], strict=True):
            if new != label:
                self._move(label, new, weights[i], sums[i])
                moved = True
        return moved

    def _merge(self, cell: int) -> bool:
        """Make a split cell whole again; True if any colour changes label."""
        label, start = self.means.labels[cell], self.loose_at.pop(cell)
        self.whole[cell] = True
        colors = self.cells.colors
        moved = False
        for position in range(start, start + len(self.cells.members(cell))):
            self.alive[position] = False
            old = self.loose.labels[position]
            if old != label:
                i = self.loose_index[position]
                self._move(old, label, colors.weights[i], colors.sums[i])
                moved = True
        return moved

    def _compact(self) -> None:
        """Drop the colours of the cells that became whole from the loose ones."""
        old, alive = self.loose, self.alive
        self.loose = BoundedPoints()
        for name in ("points", "labels", "runner", "upper", "second", "rest", "radius"):
            setattr(self.loose, name, list(compress(getattr(old, name), alive)))
        self.loose_index = list(compress(self.loose_index, alive))
        self.alive = [True] * len(self.loose_index)
        position = 0
        for cell in sorted(self.loose_at, key=self.loose_at.__getitem__):
            self.loose_at[cell] = position
            position += len(self.cells.members(cell))

    def update(self, centers: list[Point], shifts: list[float]) -> bool:
        neighbors = Neighbors(centers)
        shift = Shifts(shifts)
        colors, coarse = self.cells.colors, self.cells.coarse
        changes, _ = self.loose.refresh(neighbors, shift, self.alive)
        loose_labels, loose_index = self.loose.labels, self.loose_index
        for index, old in changes:
            i = loose_index[index]
            self._move(old, loose_labels[index], colors.weights[i], colors.sums[i])
        changed = bool(changes)
        # Every mean, split cells' too: their bounds tell when a cell is whole again.
        cell_changes, unproven = self.means.refresh(neighbors, shift)
        whole = self.whole
        for cell, old in cell_changes:
            if whole[cell]:
                self._move(old, self.means.labels[cell], coarse.weights[cell], coarse.sums[cell])
                changed = True
        for cell in unproven:
            if whole[cell]:
                changed = self._split(cell, neighbors) or changed
        # A cell is made whole again only with its radius to spare: cells on a boundary that
        # jitters were otherwise split and merged over and over (4 MP photo, K = 16: 24,000
        # splits, 5 s of the 10 s of the exact iterations).
        radius = self.cells.radius
        for cell in [cell for cell in self.loose_at if self.means.proven(cell, neighbors, radius[cell])]:
            changed = self._merge(cell) or changed
        if self.alive.count(False) * 2 > len(self.alive):
            self._compact()
        return changed

    def renumber(self, rank: list[int]) -> None:
        """Centre ``j`` becomes centre ``rank[j]``: labels, totals and sums follow."""
        for bounded in (self.means, self.loose):
            bounded.labels = [rank[a] for a in bounded.labels]
            bounded.runner = [rank[a] for a in bounded.runner]
        totals, sums = list(self.totals), list(self.sums)
        for j, new in enumerate(rank):
            self.totals[new], self.sums[new] = totals[j], sums[j]

    def _loose_labels(self) -> list[tuple[int, int]]:
        """(colour, label) of every loose colour."""
        return list(compress(zip(self.loose_index, self.loose.labels, strict=True), self.alive))

    def point_labels(self) -> list[int]:
        labels: list[int] = []
        starts = self.cells.starts
        for label, start, stop in zip(self.means.labels, starts, starts[1:]):  # noqa: B905 - one longer
            labels.extend(repeat(label, stop - start))
        for i, label in self._loose_labels():
            labels[i] = label
        return labels

    def worst(self, centers: list[Point]) -> list[tuple[float, Point]]:
        colors = self.cells.colors
        return [
            (w * squared_distance(p, centers[a]), p)
            for p, w, a in zip(colors.points, colors.weights, self.point_labels(), strict=True)
        ]

    def inertia(self, centers: list[Point]) -> float:
        """From the cells: a whole cell adds its scatter plus its weight times the mean's distance."""
        cells = self.cells
        coarse, colors = cells.coarse, cells.colors
        # The squared distances written out (squared_distance's arithmetic, the same values):
        # 0.07 s of a 4 MP photo's run at K = 16 with a call per cell and per loose colour.
        total: list[float] = []
        add = total.append
        for scatter, weight, (x, y, z), a, whole in zip(
            cells.scatter, coarse.weights, coarse.points, self.means.labels, self.whole, strict=True
        ):
            if whole:
                cx, cy, cz = centers[a]
                dx, dy, dz = x - cx, y - cy, z - cz
                add(scatter + weight * (dx * dx + dy * dy + dz * dz))
        points, weights = colors.points, colors.weights
        for i, a in self._loose_labels():
            x, y, z = points[i]
            cx, cy, cz = centers[a]
            dx, dy, dz = x - cx, y - cy, z - cz
            add(weights[i] * (dx * dx + dy * dy + dz * dz))
        return math.fsum(total)
