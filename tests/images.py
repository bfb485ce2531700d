"""Test images shared by several test modules.

A plain module, not ``conftest.py``: test modules import these functions, and ``tests/gimp``
has a ``conftest.py`` of its own, which a ``from conftest import ...`` would find instead
when both folders are collected in one run.
"""

from __future__ import annotations

import numpy as np


def _ramp(height: int, width: int) -> np.ndarray:
    """Red along x, green along y, blue along the diagonal, each from 0 to 1."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x / (width - 1), y / (height - 1), (x + y) / (width + height - 2)], axis=-1)


def photo(height: int = 24, width: int = 32, seed: int = 0) -> np.ndarray:
    """An RGB uint8 gradient with noise: hundreds of distinct colours."""
    rng = np.random.default_rng(seed)
    unit = _ramp(height, width)
    unit = np.clip(unit + rng.normal(0.0, 0.05, unit.shape), 0.0, 1.0)
    return np.rint(unit * 255).astype(np.uint8)


def gradient(height: int, width: int) -> np.ndarray:
    """A smooth RGB uint8 image: quick to fit, and with ordered dithering slow to compress as PNG."""
    return np.rint(_ramp(height, width) * 255).astype(np.uint8)


def photo_like(height: int, width: int, seed: int) -> np.ndarray:
    """Smooth gradients, a few flat patches and noise: many repeated colours and ties."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height)], axis=-1)
    image += rng.normal(0, 12, image.shape)
    image[: height // 3, : width // 3] = (200, 40, 40)
    image[-height // 4 :, -width // 4 :] = (10, 10, 10)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def two_tone(seed: int = 0) -> np.ndarray:
    """Left half dark blue-ish, right half light orange-ish, with noise."""
    rng = np.random.default_rng(seed)
    image = np.empty((40, 60, 3))
    image[:, :30] = (30, 40, 90)
    image[:, 30:] = (230, 180, 120)
    image += rng.normal(0, 6, image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def smooth_image(rng: np.random.Generator, height: int, width: int, depth: int, integer: bool) -> np.ndarray:
    """A photo-like field in [0, 255]: random walks along both axes plus a little noise."""
    walk = np.cumsum(rng.normal(0, 6, (height, width, depth)), axis=1) + np.cumsum(
        rng.normal(0, 6, (height, 1, depth)), axis=0
    )
    image = np.clip(rng.uniform(60, 190, depth) + walk + rng.normal(0, 2, walk.shape), 0, 255)
    return np.rint(image) if integer else image
