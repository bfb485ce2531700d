"""The histogram shortcut and the distance bounds change nothing.

k-means on the distinct colours weighted by their pixel counts, with bounds that
skip distance work, must give exactly what plain Lloyd iterations over every
pixel give: a reference implementation written here, as simply as possible.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from kmeans_quantize import quantize
from kmeans_quantize.histogram import _DENSE_MIN_PIXELS, color_histogram
from kmeans_quantize.initialization import GRID_REDUCTION, GRIDS, coarse_to_fine_start, coarsen
from kmeans_quantize.kmeans import WeightedPoints, lloyd
from kmeans_quantize.nearest import CenterNeighbors, nearest, nearest_full, search_near
from kmeans_quantize.options import Options


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


def photo_like(height: int, width: int, seed: int) -> np.ndarray:
    """Smooth gradients, a few flat patches and noise: many repeated colours and ties."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height)], axis=-1)
    image += rng.normal(0, 12, image.shape)
    image[: height // 3, : width // 3] = (200, 40, 40)
    image[-height // 4 :, -width // 4 :] = (10, 10, 10)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def histogram_lloyd(image: np.ndarray, centers: np.ndarray, max_iter: int):
    hist = color_histogram(image.reshape(-1, 3))
    data = WeightedPoints(hist.colors.astype(np.float64), hist.counts.astype(np.float64))
    fit = lloyd(data, centers.astype(np.float64), max_iter=max_iter, tol=0.0)
    return fit, hist


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [3, 8, 24, 50])
def test_histogram_lloyd_equals_per_pixel_lloyd(seed: int, k: int) -> None:
    image = photo_like(48, 64, seed)
    pixels = image.reshape(-1, 3).astype(np.float64)
    rng = np.random.default_rng(100 + seed)
    # Integer initial centres drawn from the image: many exact distance ties.
    init = np.unique(pixels, axis=0)[rng.choice(len(np.unique(pixels, axis=0)), k, replace=False)]
    ref_centers, ref_labels, ref_iter = reference_lloyd(pixels, init, max_iter=60)
    fit, hist = histogram_lloyd(image, init, max_iter=60)
    assert fit.n_iter == ref_iter
    np.testing.assert_array_equal(fit.centers, ref_centers)  # bit for bit, not approximately
    np.testing.assert_array_equal(fit.labels[hist.inverse], ref_labels)


@pytest.mark.parametrize("k", [8, 40])
def test_starting_from_the_coarse_grids_assignment_changes_no_lloyd_step(k: int) -> None:
    # Integer colours dense near a surface, as a large photo's: every grid merges them.
    rng = np.random.default_rng(k)
    x, y = np.meshgrid(np.arange(256), np.arange(256))
    points = np.concatenate(
        [np.stack([x.ravel(), y.ravel(), (x.ravel() + y.ravel()) // 2 + dz], axis=1) for dz in range(4)]
    ).astype(np.float64)
    data = WeightedPoints(points, rng.integers(1, 20, len(points)).astype(np.float64))
    for cells in GRIDS:  # the test must exercise every grid
        assert len(coarsen(data, cells)[0]) * GRID_REDUCTION <= len(data)
    centers, start = coarse_to_fine_start(data, Options.from_keywords(k, init="k-means++", tol=0.1), rng)
    # The inherited labels and margins are only a shortcut: starting from a full search
    # instead must give the same iterations, bit for bit.
    inherited = lloyd(data, centers, max_iter=40, tol=0.0, start=start)
    fresh = lloyd(data, centers, max_iter=40, tol=0.0)
    assert inherited.n_iter == fresh.n_iter
    np.testing.assert_array_equal(inherited.centers, fresh.centers)
    np.testing.assert_array_equal(inherited.labels, fresh.labels)


def test_empty_clusters_are_reseeded_like_the_reference() -> None:
    image = photo_like(40, 40, 7) // 2  # colours 0..127
    pixels = image.reshape(-1, 3).astype(np.float64)
    # Three centres far outside the data: their clusters are empty at once.
    init = np.array(
        [[255, 255, 255], [250, 255, 255], [255, 250, 255], [60, 60, 30], [20, 10, 5], [100, 30, 20]]
    )
    ref_centers, ref_labels, ref_iter = reference_lloyd(pixels, init.astype(np.float64), max_iter=40)
    fit, hist = histogram_lloyd(image, init, max_iter=40)
    np.testing.assert_array_equal(fit.centers, ref_centers)
    np.testing.assert_array_equal(fit.labels[hist.inverse], ref_labels)
    assert fit.n_iter == ref_iter
    assert np.isfinite(fit.centers).all()
    assert len(np.unique(fit.centers, axis=0)) == len(init)
    assert (np.bincount(fit.labels, minlength=len(init)) > 0).all()


def test_quantize_with_many_clusters_has_no_empty_or_duplicate_colours() -> None:
    image = photo_like(30, 30, 3) // 16 * 16  # few distinct colours, K close to that number
    n_distinct = len(np.unique(image.reshape(-1, 3), axis=0))
    result = quantize(image, n_distinct - 2, seed=0, init="random")
    assert len(np.unique(result.palette.colors, axis=0)) == len(result.palette)
    assert (result.palette.counts > 0).all()
    assert np.isfinite(result.inertia)


@pytest.mark.parametrize("n_dims", [1, 3])
def test_search_from_a_guess_matches_a_full_search(n_dims: int) -> None:
    rng = np.random.default_rng(5)
    points = rng.integers(0, 256, (5000, n_dims)).astype(np.float64)
    centers = rng.integers(0, 256, (300, n_dims)).astype(np.float64)
    centers = np.unique(centers, axis=0)
    full = nearest_full(points, centers)
    # Integer data: check that ties exist, so tie-breaking is really exercised.
    assert (full.nearest_distance == full.runner_up_distance).any()
    guess = rng.integers(0, len(centers), len(points))
    own = np.sqrt(((points - centers[guess]) ** 2).sum(axis=1))
    found = search_near(points, CenterNeighbors.of(centers), guess, own)
    np.testing.assert_array_equal(found.labels, full.labels)
    np.testing.assert_allclose(found.nearest_distance, full.nearest_distance)
    # The bounds are valid: the runner-up is at the distance given, and no
    # other centre is closer than `rest`.
    all_dist = np.sqrt(((points[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2))
    rows = np.arange(len(points))
    np.testing.assert_allclose(all_dist[rows, found.runner_up], found.runner_up_distance)
    assert (found.runner_up != found.labels).all()
    all_dist[rows, found.labels] = np.inf
    all_dist[rows, found.runner_up] = np.inf
    assert (all_dist.min(axis=1) >= found.rest - 1e-9).all()
    assert (found.runner_up_distance >= found.nearest_distance).all()
    full_labels = full.labels
    np.testing.assert_array_equal(nearest(points, centers, guess), full_labels)


def test_dense_and_sorted_histograms_are_identical() -> None:
    rng = np.random.default_rng(2)
    small = rng.integers(0, 64, (5000, 3), dtype=np.uint8)
    # Repeat the rows until the dense (counting) path is taken.
    repeats = -(-_DENSE_MIN_PIXELS // len(small))
    large = np.tile(small, (repeats, 1))
    sorted_path = color_histogram(small)
    dense_path = color_histogram(large)
    np.testing.assert_array_equal(dense_path.colors, sorted_path.colors)
    np.testing.assert_array_equal(dense_path.counts, sorted_path.counts * repeats)
    np.testing.assert_array_equal(dense_path.inverse, np.tile(sorted_path.inverse, repeats))
    np.testing.assert_array_equal(sorted_path.colors[sorted_path.inverse], small)


def test_same_seed_gives_identical_output_and_other_seed_differs() -> None:
    image = photo_like(60, 80, 11)
    first = quantize(image, 12, seed=42)
    second = quantize(image, 12, seed=42)
    assert first.image.tobytes() == second.image.tobytes()
    np.testing.assert_array_equal(first.palette.colors, second.palette.colors)
    np.testing.assert_array_equal(first.labels, second.labels)
    other = quantize(image, 12, seed=43, init="random")
    assert other.image.tobytes() != first.image.tobytes()


_THREADS_SCRIPT = """
import hashlib, sys
import numpy as np
from kmeans_quantize import quantize
rng = np.random.default_rng(0)
y, x = np.mgrid[0:120, 0:160]
image = np.stack([x * 1.5, y * 2.0, (x + y) * 0.9], axis=-1) + rng.normal(0, 10, (120, 160, 3))
image = np.clip(image, 0, 255).astype(np.uint8)
digest = hashlib.sha256()
for space in ("rgb", "lab", "oklab"):
    result = quantize(image, 32, color_space=space, seed=3)
    digest.update(result.image.tobytes())
print(digest.hexdigest())
"""


def test_output_does_not_depend_on_blas_threads() -> None:
    digests = set()
    for threads in ("1", "2", "4"):
        env = {
            "OMP_NUM_THREADS": threads,
            "OPENBLAS_NUM_THREADS": threads,
            "MKL_NUM_THREADS": threads,
        }
        import os

        run = subprocess.run(
            [sys.executable, "-c", _THREADS_SCRIPT],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
        )
        digests.add(run.stdout.strip())
    assert len(digests) == 1
