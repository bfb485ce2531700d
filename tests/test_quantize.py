"""quantize as a whole: distinct colours, repeatable output, independent of BLAS threads."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
from images import photo_like
from kmeans_quantize import quantize


def test_quantize_with_many_clusters_has_no_empty_or_duplicate_colours() -> None:
    image = photo_like(30, 30, 3) // 16 * 16  # few distinct colours, K close to that number
    n_distinct = len(np.unique(image.reshape(-1, 3), axis=0))
    result = quantize(image, n_distinct - 2, seed=0, init="random")
    assert len(np.unique(result.palette.colors, axis=0)) == len(result.palette)
    assert (result.palette.counts > 0).all()
    assert np.isfinite(result.inertia)


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
        run = subprocess.run(
            [sys.executable, "-c", _THREADS_SCRIPT],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
        )
        digests.add(run.stdout.strip())
    assert len(digests) == 1
