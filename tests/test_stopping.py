"""The stopping rule of :func:`kmeans_quantize.kmeans.lloyd`, against plain per-pixel Lloyd.

``tol`` stops the iteration after the first update that moves no centre by more than
``tol``; ``tol=0`` runs until no label changes. The reference below is the plain
algorithm over every pixel, so each step is checked as well as where it stops.
"""

from __future__ import annotations

import numpy as np
import pytest
from kmeans_quantize import quantize
from kmeans_quantize.histogram import color_histogram
from kmeans_quantize.kmeans import WeightedPoints, lloyd


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
    fit = lloyd(data, init, tol=tol, max_iter=300)
    assert fit.converged
    assert fit.n_iter == stop + 1
    np.testing.assert_array_equal(fit.centers, history[stop][0])
    # Just below that shift, it must go on.
    below = lloyd(data, init, tol=float(np.nextafter(tol, 0.0)), max_iter=300)
    assert below.n_iter > fit.n_iter


def test_tol_below_every_shift_runs_until_no_label_changes(setup) -> None:
    data, init, history = setup
    smallest = min(shift for _, shift, changed in history if changed)
    fit = lloyd(data, init, tol=smallest * 0.5, max_iter=300)
    full = lloyd(data, init, tol=0.0, max_iter=300)
    assert fit.converged and full.converged
    assert fit.n_iter == full.n_iter == len(history)
    np.testing.assert_array_equal(fit.centers, history[-1][0])
    np.testing.assert_array_equal(full.centers, history[-1][0])


def test_max_iter_stops_without_convergence(setup) -> None:
    data, init, history = setup
    fit = lloyd(data, init, tol=0.0, max_iter=3)
    assert not fit.converged
    assert fit.n_iter == 3
    np.testing.assert_array_equal(fit.centers, history[2][0])


def test_quantize_reports_convergence_of_its_default_rule() -> None:
    image = _image()
    assert quantize(image, 8, seed=0).converged
    assert quantize(image, 8, seed=0, tol=0.0).converged
