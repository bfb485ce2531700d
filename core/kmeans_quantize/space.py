"""Clustering spaces: where stored pixel values go to be clustered, and back.

=========  ==========================================  ===========================
name       coordinates                                 unit of ``tol`` / distance
=========  ==========================================  ===========================
``rgb``    sRGB values scaled to 0-255                 one 8-bit sRGB step
``lab``    CIELAB, D65 (L* 0-100)                      CIE76 Delta E
``oklab``  Oklab scaled by 100 (L 0-100)               Oklab distance x 100
=========  ==========================================  ===========================

Gray images are clustered on one axis: the gray value (``rgb``) or the
lightness (``lab``, ``oklab``; a neutral gray has a = b = 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import colorspace
from .pixels import from_unit, to_unit

__all__ = ["COLOR_SPACES", "check_color_space", "encode", "decode"]

COLOR_SPACES = ("rgb", "lab", "oklab")

# Oklab's L runs 0-1; scaling by 100 gives it the same order of magnitude as
# CIELAB, so one default ``tol`` means about the same in both spaces.
_OKLAB_SCALE = 100.0

_FORWARD = {"lab": colorspace.srgb_to_lab, "oklab": colorspace.srgb_to_oklab}
_BACKWARD = {"lab": colorspace.lab_to_srgb, "oklab": colorspace.oklab_to_srgb}
_SCALE = {"lab": 1.0, "oklab": _OKLAB_SCALE}


def check_color_space(color_space: object) -> str:
    if color_space not in COLOR_SPACES:
        raise ValueError(f"unknown color_space {color_space!r}; choose one of {', '.join(COLOR_SPACES)}")
    return str(color_space)


def encode(values: NDArray[Any], dtype: np.dtype[Any], color_space: str) -> NDArray[np.float64]:
    """Map stored colour values ``(N, C)`` of ``dtype`` into the clustering space."""
    if color_space == "rgb":
        if dtype == np.uint8:
            # Exact small integers: keeps the weighted sums of k-means exact.
            return values.astype(np.float64)
        return to_unit(values, dtype) * 255.0
    unit = to_unit(values, dtype)
    if unit.shape[1] == 1:
        rgb = np.repeat(unit, 3, axis=1)
        return _FORWARD[color_space](rgb)[:, :1] * _SCALE[color_space]
    return _FORWARD[color_space](unit) * _SCALE[color_space]


def decode(points: NDArray[np.float64], dtype: np.dtype[Any], color_space: str) -> NDArray[Any]:
    """Map clustering-space points back to stored values of ``dtype``, clipped to the gamut."""
    if color_space == "rgb":
        return from_unit(points / 255.0, dtype)
    scaled = points / _SCALE[color_space]
    if scaled.shape[1] == 1:
        neutral = np.zeros((scaled.shape[0], 3))
        neutral[:, :1] = scaled
        # A neutral colour decodes to R = G = B up to rounding: take their mean.
        return from_unit(_BACKWARD[color_space](neutral).mean(axis=1, keepdims=True), dtype)
    return from_unit(_BACKWARD[color_space](scaled), dtype)
