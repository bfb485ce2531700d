"""The clustering spaces by name: the former home of :mod:`.clustering_space`.

Kept for code that imports ``kmeans_quantize.space`` and names the space by a string
(the numpy-free engine's tests compare against :func:`encode` and :func:`decode`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .clustering_space import COLOR_SPACES, ColorSpace, check_color_space

__all__ = ["COLOR_SPACES", "check_color_space", "encode", "decode"]


def encode(values: NDArray[Any], dtype: np.dtype[Any], color_space: str) -> NDArray[np.float64]:
    """Map stored colour values ``(N, C)`` of ``dtype`` into the space named ``color_space``."""
    return ColorSpace.named(color_space).encode(values, dtype)


def decode(points: NDArray[np.float64], dtype: np.dtype[Any], color_space: str) -> NDArray[Any]:
    """Map points of the space named ``color_space`` back to stored values of ``dtype``."""
    return ColorSpace.named(color_space).decode(points, dtype)
