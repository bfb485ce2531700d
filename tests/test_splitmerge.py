"""Split–merge refinement: it escapes a known bad local optimum and never makes a fit worse."""

from __future__ import annotations

import numpy as np
import pytest
from kmeans_quantize import splitmerge
from kmeans_quantize.kmeans import WeightedPoints, lloyd
from kmeans_quantize.nearest import nearest_full
from kmeans_quantize.splitmerge import split_merge


def on_x_axis(*xs: float) -> np.ndarray:
    return np.array([[x, 0.0, 0.0] for x in xs])


# Four single points on a line: two close together (0, 4), two far apart (100, 140).
GROUPS = on_x_axis(0, 4, 100, 140)
# A Lloyd fixed point with K = 3: a centre on each close point, one between the far ones.
# Its inertia is 20^2 + 20^2 = 800; the optimum (2, 100, 140) has 2^2 + 2^2 = 8.
BAD_CENTERS = on_x_axis(0, 4, 120)


def test_lloyd_alone_stays_in_the_bad_optimum() -> None:
    fit = lloyd(WeightedPoints(GROUPS, np.ones(4)), BAD_CENTERS)
    assert fit.inertia == 800.0
    np.testing.assert_array_equal(fit.centers, BAD_CENTERS)


def test_escapes_the_bad_optimum() -> None:
    data = WeightedPoints(GROUPS, np.ones(4))
    refined = split_merge(data, lloyd(data, BAD_CENTERS))
    assert refined.inertia == 8.0
    assert sorted(refined.centers[:, 0]) == [2.0, 100.0, 140.0]


def test_fixed_centres_stay_and_take_no_part() -> None:
    data = WeightedPoints(on_x_axis(-500, 0, 4, 100, 140), np.ones(5))
    refined = split_merge(data, lloyd(data, on_x_axis(-500, 0, 4, 120), n_fixed=1), n_fixed=1)
    assert refined.inertia == 8.0
    np.testing.assert_array_equal(refined.centers[0], [-500.0, 0.0, 0.0])


def test_a_fixed_centre_is_never_split() -> None:
    data = WeightedPoints(GROUPS, np.ones(4))
    # The centre at 120, shared by the far points, is fixed: no move is possible.
    fit = lloyd(data, on_x_axis(120, 0, 4), n_fixed=1)
    assert split_merge(data, fit, n_fixed=1) is fit


def test_fewer_than_three_free_centres_leave_the_fit_alone() -> None:
    data = WeightedPoints(GROUPS, np.ones(4))
    fit = lloyd(data, on_x_axis(2, 120))
    assert split_merge(data, fit) is fit


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n_clusters", [3, 8, 24])
def test_never_worse_and_a_lloyd_fixed_point(seed: int, n_clusters: int) -> None:
    rng = np.random.default_rng(seed)
    # Clumpy integer colours with integer weights, as a colour histogram gives.
    blobs = rng.integers(0, 256, size=(6, 3))
    noisy = blobs[rng.integers(0, 6, 600)] + rng.normal(0, 18, (600, 3))
    points = np.unique(np.clip(noisy, 0, 255).round(), axis=0)
    data = WeightedPoints(points, rng.integers(1, 50, len(points)).astype(np.float64))
    start = points[rng.choice(len(points), n_clusters, replace=False)]
    fit = lloyd(data, start)
    refined = split_merge(data, fit)
    assert refined.inertia <= fit.inertia
    assert refined.converged
    # Lloyd's fixed point: each point's label is its nearest centre, each centre its cluster's mean.
    np.testing.assert_array_equal(refined.labels, nearest_full(points, refined.centers).labels)
    for j in range(n_clusters):
        members = refined.labels == j
        mean = np.average(points[members], axis=0, weights=data.weights[members])
        np.testing.assert_allclose(refined.centers[j], mean, rtol=0, atol=1e-9)
    recomputed = float(np.sum(data.weights * ((points - refined.centers[refined.labels]) ** 2).sum(axis=1)))
    assert refined.inertia == pytest.approx(recomputed, rel=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_splits_kept_from_earlier_rounds_change_no_move(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cluster split in an earlier round, unchanged since, is not split again: the result is
    the one of splitting every candidate in every round."""
    rng = np.random.default_rng(seed)
    blobs = rng.integers(0, 256, size=(12, 3))
    noisy = blobs[rng.integers(0, 12, 3000)] + rng.normal(0, 14, (3000, 3))
    points = np.unique(np.clip(noisy, 0, 255).round(), axis=0)
    data = WeightedPoints(points, rng.integers(1, 50, len(points)).astype(np.float64))
    fit = lloyd(data, points[rng.choice(len(points), 24, replace=False)])
    splits = []
    real_split = splitmerge._split_in_two

    def counted(*args: object) -> object:
        splits.append(1)
        return real_split(*args)

    monkeypatch.setattr(splitmerge, "_split_in_two", counted)
    kept = split_merge(data, fit)
    with_kept_splits = len(splits)
    real_moves = splitmerge._moves
    monkeypatch.setattr(splitmerge, "_moves", lambda *args: real_moves(*args[:-1], {}))
    splits.clear()
    fresh = split_merge(data, fit)
    assert with_kept_splits < len(splits)  # the test exercises the kept splits
    np.testing.assert_array_equal(kept.centers, fresh.centers)
    np.testing.assert_array_equal(kept.labels, fresh.labels)
    assert kept.inertia == fresh.inertia
