"""k-means (kmeans_quantize.kmeans.lloyd) against plain Lloyd iterations over every pixel.

k-means on the distinct colours weighted by their pixel counts, with bounds that
skip distance work, must give exactly what plain Lloyd iterations over every
pixel give: a reference implementation written here, as simply as possible.
The stopping rule too: ``tol`` stops the iteration after the first update that
moves no centre by more than ``tol``; ``tol=0`` runs until no label changes.
"""

from __future__ import annotations

import multiprocessing
import os
import threading

import numpy as np
import pytest
from images import photo_like
from kmeans_quantize import kmeans as kmeans_module
from kmeans_quantize import nearest as nearest_module
from kmeans_quantize import quantize
from kmeans_quantize.histogram import color_histogram
from kmeans_quantize.kmeans import PLAIN_SEARCH_MAX, Assignment, Stopping, WeightedPoints, lloyd, relabel
from kmeans_quantize.nearest import nearest_full


def reference_assign(pixels: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre of every pixel by direct distances; ties to the lowest index."""
    dist = (
        (pixels[:, None, 0] - centers[None, :, 0]) ** 2
        + (pixels[:, None, 1] - centers[None, :, 1]) ** 2
        + (pixels[:, None, 2] - centers[None, :, 2]) ** 2
    )
    labels = dist.argmin(axis=1)
    return labels, dist[np.arange(len(pixels)), labels]


def reference_lloyd(
    pixels: np.ndarray, centers: np.ndarray, max_iter: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Plain Lloyd over every pixel, tol = 0 (stop when no label changes).

    An empty cluster moves to the colour whose pixels add most to the error
    (count x squared distance; ties to the smaller colour), skipping colours
    that already are a centre.
    """
    centers = centers.astype(np.float64).copy()
    previous = None
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        labels, sq_dist = reference_assign(pixels, centers)
        if previous is not None and np.array_equal(labels, previous):
            break
        previous = labels
        new = centers.copy()
        empty = []
        for j in range(len(centers)):
            members = pixels[labels == j]
            if len(members):
                new[j] = members.sum(axis=0) / len(members)
            else:
                empty.append(j)
        if empty:
            colors = {}
            for pixel, d in zip(map(tuple, pixels), sq_dist, strict=True):
                count, _ = colors.get(pixel, (0, d))
                colors[pixel] = (count + 1, d)
            ranked = sorted(colors, key=lambda c: (-colors[c][0] * colors[c][1], c))
            taken = [j for j in range(len(centers)) if j not in empty]
            for j in empty:
                while ranked:
                    candidate = np.array(ranked.pop(0), dtype=np.float64)
                    if not any((new[t] == candidate).all() for t in taken):
                        new[j] = candidate
                        taken.append(j)
                        break
        shift = np.sqrt(((new - centers) ** 2).sum(axis=1)).max()
        centers = new
        if shift == 0:
            break
    return centers, reference_assign(pixels, centers)[0], n_iter


def histogram_lloyd(image: np.ndarray, centers: np.ndarray, max_iter: int):
    hist = color_histogram(image.reshape(-1, 3))
    data = WeightedPoints(hist.colors.astype(np.float64), hist.counts.astype(np.float64))
    fit = lloyd(data, centers.astype(np.float64), stop=Stopping(max_iter=max_iter, tol=0.0))
    return fit, hist


def equals_per_pixel_lloyd(image: np.ndarray, init: np.ndarray, max_iter: int):
    """:func:`histogram_lloyd`, checked bit for bit (not approximately) against the per-pixel reference."""
    pixels = image.reshape(-1, 3).astype(np.float64)
    ref_centers, ref_labels, ref_iter = reference_lloyd(pixels, init.astype(np.float64), max_iter=max_iter)
    fit, hist = histogram_lloyd(image, init, max_iter=max_iter)
    assert fit.n_iter == ref_iter
    np.testing.assert_array_equal(fit.centers, ref_centers)
    np.testing.assert_array_equal(fit.labels[hist.inverse], ref_labels)
    return fit, hist


def image_colours(image: np.ndarray, k: int, seed: int) -> np.ndarray:
    """``k`` of the image's distinct colours, drawn at random: integer centres, many exact ties."""
    colors = np.unique(image.reshape(-1, 3).astype(np.float64), axis=0)
    return colors[np.random.default_rng(seed).choice(len(colors), k, replace=False)]


def full_search_assignment(points: np.ndarray, centers: np.ndarray) -> Assignment:
    """Each point's nearest centre and its exact margin: the gap to its nearest other centre."""
    ranking = nearest_full(points, centers)
    return Assignment(
        ranking.labels, np.minimum(ranking.runner_up_distance, ranking.rest) - ranking.nearest_distance
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [3, 8, 24, 50])
def test_histogram_lloyd_equals_per_pixel_lloyd(seed: int, k: int) -> None:
    image = photo_like(48, 64, seed)
    equals_per_pixel_lloyd(image, image_colours(image, k, 100 + seed), max_iter=60)


@pytest.mark.parametrize("k", [96, 160])
def test_many_centres_equal_per_pixel_lloyd(k: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """With many centres, a point's margin against the centres other than its own and runner-up
    falls only by the largest shift among its centre's listed neighbours (bounded by the reach of
    the list), and the neighbour lists are carried from one step to the next, kept where they
    still hold the nearest centres and searched again where not. Still plain Lloyd, bit for bit.
    """
    calls = {"kept": 0, "stale": 0}
    original = nearest_module._kept_lists

    def counting(dist: np.ndarray, previous: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        order, sorted_sq = original(dist, previous)
        calls["kept"] += 1
        calls["stale"] += int(
            (np.take_along_axis(dist, previous, axis=1).max(axis=1) > sorted_sq[:, -1]).sum()
        )
        return order, sorted_sq

    monkeypatch.setattr(nearest_module, "_kept_lists", counting)
    image = photo_like(96, 128, k)
    equals_per_pixel_lloyd(image, image_colours(image, k, k), max_iter=40)
    # Both ways of making the lists took part.
    assert calls["kept"] > 0
    assert calls["stale"] > 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_centres_reseeded_from_afar_equal_per_pixel_lloyd(seed: int) -> None:
    """Twelve centres far from every colour: their clusters are empty and each jumps onto a
    colour, across the space, possibly beyond the neighbour lists of the centres around it.
    The margins must still hold against it. (Without the bound from the lists' reach, seed 1
    gives other labels than plain Lloyd.)
    """
    image = photo_like(64, 80, seed) // 2  # colours 0..127
    pixels = image.reshape(-1, 3).astype(np.float64)
    colors = np.unique(pixels, axis=0)
    rng = np.random.default_rng(seed)
    far = 255 - rng.integers(0, 60, (12, 3))
    init = np.unique(np.concatenate([far, colors[rng.choice(len(colors), 60, replace=False)]]), axis=0)
    rng.shuffle(init)
    equals_per_pixel_lloyd(image, init, max_iter=40)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [2, 3, 5])
def test_small_problems_searched_without_bounds_equal_per_pixel_lloyd(seed: int, k: int) -> None:
    """Up to PLAIN_SEARCH_MAX point-centre distances, every point is searched in every step
    (split–merge's 2-means of one cluster): the same iterations, bit for bit. One of the
    starting centres lies far from every colour, so its cluster empties and is re-seeded."""
    image = photo_like(12, 14, seed) // 8  # few colours, many ties
    pixels = image.reshape(-1, 3).astype(np.float64)
    colors = np.unique(pixels, axis=0)
    assert len(colors) * k <= PLAIN_SEARCH_MAX
    rng = np.random.default_rng(seed)
    init = np.concatenate([[[255.0, 255.0, 255.0]], colors[rng.choice(len(colors), k - 1, replace=False)]])
    fit, hist = equals_per_pixel_lloyd(image, init, max_iter=40)
    # The margins are those of a full search: each is the gap to the nearest other centre.
    distances = np.sqrt(((hist.colors[:, None, :] - fit.centers[None]) ** 2).sum(axis=2))
    own = distances[np.arange(len(distances)), fit.labels]
    distances[np.arange(len(distances)), fit.labels] = np.inf
    np.testing.assert_allclose(fit.assignment.margins, distances.min(axis=1) - own, atol=1e-9)


@pytest.mark.parametrize("seed", [0, 2, 5])
def test_relabel_after_two_centres_jump_equals_a_full_search(seed: int) -> None:
    """The margins carried from an assignment are distances, so the bound from the neighbour
    lists' reach holds: 64 centres, most nudged, two jumping across the space (with the own
    distance taken as 0, these seeds kept 1-3 colours on a centre no longer their nearest)."""
    rng = np.random.default_rng(seed)
    points = rng.integers(0, 256, (3000, 3)).astype(np.float64)
    data = WeightedPoints(points, np.ones(len(points)))
    old = rng.integers(0, 256, (64, 3)).astype(np.float64)
    start = full_search_assignment(points, old)
    new = old + rng.normal(0, 0.5, old.shape)
    jumping = rng.choice(64, 2, replace=False)
    new[jumping] = rng.integers(0, 256, (2, 3))
    np.testing.assert_array_equal(relabel(data, start, old, new), nearest_full(points, new).labels)


@pytest.mark.parametrize("k", [24, 96])
def test_points_searched_in_two_threads_equal_per_pixel_lloyd(
    k: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large histograms are searched in two halves, one in a second thread: still plain Lloyd,
    bit for bit, from a full search and from a carried-over assignment alike."""
    monkeypatch.setattr(kmeans_module, "SHARD_MIN_POINTS", 100)
    monkeypatch.setattr(kmeans_module, "_cores", lambda: 2)  # whatever this machine has
    sharded = []
    real = kmeans_module._ShardedSearch.__init__

    def counted(self: object, *args: object) -> None:
        sharded.append(k)
        real(self, *args)

    monkeypatch.setattr(kmeans_module._ShardedSearch, "__init__", counted)
    image = photo_like(96, 128, k)
    init = image_colours(image, k, k)
    fit, hist = equals_per_pixel_lloyd(image, init, max_iter=40)
    assert sharded
    data = WeightedPoints(hist.colors.astype(np.float64), hist.counts.astype(np.float64))
    carried = lloyd(
        data, init, stop=Stopping(max_iter=40, tol=0.0), start=full_search_assignment(data.points, init)
    )
    np.testing.assert_array_equal(carried.centers, fit.centers)  # both the reference's
    np.testing.assert_array_equal(carried.labels, fit.labels)
    # Margins depend on the path (bounds, not distances), but each must hold.
    true_margins = full_search_assignment(data.points, carried.centers).margins
    assert (carried.assignment.margins <= true_margins + 1e-9).all()
    assert (fit.assignment.margins <= true_margins + 1e-9).all()


def _small_fit_inertia() -> float:
    image = photo_like(48, 64, 1)
    init = np.unique(image.reshape(-1, 3), axis=0)[:8].astype(np.float64)
    return histogram_lloyd(image, init, max_iter=20)[0].inertia


def _sharded_fit_in_child(queue: object) -> None:
    kmeans_module.SHARD_MIN_POINTS = 100
    kmeans_module._cores = lambda: 2
    queue.put(_small_fit_inertia())  # type: ignore[attr-defined]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
def test_no_worker_thread_outlives_a_fit_and_a_forked_child_searches_in_two(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The second thread of a search stops when the fit returns: a process forked afterwards
    (multiprocessing on Linux) finds no pool whose thread it lacks, and does not hang."""
    monkeypatch.setattr(kmeans_module, "SHARD_MIN_POINTS", 100)
    monkeypatch.setattr(kmeans_module, "_cores", lambda: 2)
    expected = _small_fit_inertia()
    assert not [t for t in threading.enumerate() if t.name.startswith("kmeans-quantize")]
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_sharded_fit_in_child, args=(queue,))
    child.start()
    child.join(timeout=60)
    if child.is_alive():
        child.kill()
        pytest.fail("the forked child hung")
    assert queue.get(timeout=5) == expected


def test_empty_clusters_are_reseeded_like_the_reference() -> None:
    image = photo_like(40, 40, 7) // 2  # colours 0..127
    # Three centres far outside the data: their clusters are empty at once.
    init = np.array(
        [[255, 255, 255], [250, 255, 255], [255, 250, 255], [60, 60, 30], [20, 10, 5], [100, 30, 20]]
    )
    fit, _ = equals_per_pixel_lloyd(image, init, max_iter=40)
    assert np.isfinite(fit.centers).all()
    assert len(np.unique(fit.centers, axis=0)) == len(init)
    assert (np.bincount(fit.labels, minlength=len(init)) > 0).all()


# --- the stopping rule ---------------------------------------------------------------------


def _image(seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:40, 0:56]
    image = np.stack([x * 4.5, y * 6.0, (x + y) * 2.5], axis=-1) + rng.normal(0, 10, (40, 56, 3))
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _reference_run(
    pixels: np.ndarray, centers: np.ndarray, steps: int
) -> list[tuple[np.ndarray, float, bool]]:
    """Plain Lloyd over every pixel: after each update, (centres, largest shift, labels changed)."""
    history = []
    previous = None
    for _ in range(steps):
        dist = ((pixels[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
        labels = dist.argmin(axis=1)
        changed = previous is None or not np.array_equal(labels, previous)
        previous = labels
        new = centers.copy()
        for j in range(len(centers)):
            members = pixels[labels == j]
            assert len(members), "the test image must not empty a cluster"
            new[j] = members.sum(axis=0) / len(members)
        shift = float(np.sqrt(((new - centers) ** 2).sum(axis=1)).max())
        history.append((new, shift, changed))
        if not changed:
            break
        centers = new
    return history


@pytest.fixture(scope="module")
def setup() -> tuple[WeightedPoints, np.ndarray, list[tuple[np.ndarray, float, bool]]]:
    image = _image()
    pixels = image.reshape(-1, 3).astype(np.float64)
    hist = color_histogram(image.reshape(-1, 3))
    data = WeightedPoints(hist.colors.astype(np.float64), hist.counts.astype(np.float64))
    rng = np.random.default_rng(7)
    init = hist.colors[rng.choice(len(hist), 8, replace=False)].astype(np.float64)
    return data, init, _reference_run(pixels, init, 200)


def test_tol_stops_at_the_first_small_enough_update(setup) -> None:
    data, init, history = setup
    shifts = [shift for _, shift, changed in history if changed]
    assert len(shifts) > 8, "the run must be long enough to stop early"
    # Stop right after an update whose shift is smaller than every earlier one; labels still change then.
    stop = next(i for i in range(4, len(shifts)) if shifts[i] < min(shifts[:i]))
    tol = shifts[stop]
    fit = lloyd(data, init, stop=Stopping(max_iter=300, tol=tol))
    assert fit.converged
    assert fit.n_iter == stop + 1
    np.testing.assert_array_equal(fit.centers, history[stop][0])
    # Just below that shift, it must go on.
    below = lloyd(data, init, stop=Stopping(max_iter=300, tol=float(np.nextafter(tol, 0.0))))
    assert below.n_iter > fit.n_iter


def test_tol_below_every_shift_runs_until_no_label_changes(setup) -> None:
    data, init, history = setup
    smallest = min(shift for _, shift, changed in history if changed)
    fit = lloyd(data, init, stop=Stopping(max_iter=300, tol=smallest * 0.5))
    full = lloyd(data, init, stop=Stopping(max_iter=300, tol=0.0))
    assert fit.converged and full.converged
    assert fit.n_iter == full.n_iter == len(history)
    np.testing.assert_array_equal(fit.centers, history[-1][0])
    np.testing.assert_array_equal(full.centers, history[-1][0])


def test_max_iter_stops_without_convergence(setup) -> None:
    data, init, history = setup
    fit = lloyd(data, init, stop=Stopping(max_iter=3, tol=0.0))
    assert not fit.converged
    assert fit.n_iter == 3
    np.testing.assert_array_equal(fit.centers, history[2][0])


def test_quantize_reports_convergence_of_its_default_rule() -> None:
    image = _image()
    assert quantize(image, 8, seed=0).converged
    assert quantize(image, 8, seed=0, tol=0.0).converged
