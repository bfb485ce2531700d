"""Colour-space conversions between sRGB, CIELAB and Oklab.

All functions are pure: they take and return ``(..., 3)`` float arrays and never
modify their input. sRGB values are *encoded* (gamma-compressed) values in
``[0, 1]``. The 3x3 matrix products are written out element by element instead
of going through BLAS, so results do not depend on how many threads BLAS uses.

References
----------
.. [1] IEC 61966-2-1:1999, "Multimedia systems and equipment - Colour
       measurement and management - Default RGB colour space - sRGB".
.. [2] CIE 15:2004, "Colorimetry", section 8.2.1 (CIE 1976 L*a*b*).
.. [3] B. Ottosson, "A perceptual color space for image processing", 2020.
       https://bottosson.github.io/posts/oklab/
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "srgb_to_linear",
    "linear_to_srgb",
    "srgb_to_lab",
    "lab_to_srgb",
    "srgb_to_oklab",
    "oklab_to_srgb",
]

FloatArray = NDArray[np.float64]

# Linear sRGB -> CIE XYZ, D65 white [1].
_RGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)
# The D65 reference white as this matrix maps sRGB white (1, 1, 1): using the
# matrix's own row sums makes white land exactly on L* = 100, a* = b* = 0.
_WHITE_XYZ = _RGB_TO_XYZ.sum(axis=1)

# Linear sRGB -> LMS and LMS' -> Oklab [3].
_RGB_TO_LMS = np.array(
    [
        [0.4122214708, 0.5363325363, 0.0514459929],
        [0.2119034982, 0.6806995451, 0.1073969566],
        [0.0883024619, 0.2817188376, 0.6299787005],
    ]
)
_LMS_TO_OKLAB = np.array(
    [
        [0.2104542553, 0.7936177850, -0.0040720468],
        [1.9779984951, -2.4285922050, 0.4505937099],
        [0.0259040371, 0.7827717662, -0.8086757660],
    ]
)
# Exact inverses (rather than the rounded published ones) so that a round trip
# returns the input to within floating-point rounding.
_LMS_TO_RGB = np.linalg.inv(_RGB_TO_LMS)
_OKLAB_TO_LMS = np.linalg.inv(_LMS_TO_OKLAB)

_LAB_DELTA = 6.0 / 29.0


def _as_float(values: ArrayLike) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape[-1:] != (3,):
        raise ValueError(f"expected an array of shape (..., 3), got {array.shape}")
    return array


def _matmul3(values: FloatArray, matrix: FloatArray) -> FloatArray:
    """Apply a 3x3 ``matrix`` to the last axis of ``values`` (v @ matrix.T).

    Written as explicit multiply-adds in a fixed order, so the result is the
    same bit for bit whatever BLAS and however many threads numpy uses.
    """
    x, y, z = values[..., 0], values[..., 1], values[..., 2]
    out = np.empty(values.shape, dtype=np.float64)
    for row in range(3):
        out[..., row] = matrix[row, 0] * x + matrix[row, 1] * y + matrix[row, 2] * z
    return out


def srgb_to_linear(srgb: ArrayLike) -> FloatArray:
    """Decode sRGB values in ``[0, 1]`` to linear light (IEC 61966-2-1 [1])."""
    v = np.asarray(srgb, dtype=np.float64)
    return np.where(v <= 0.04045, v / 12.92, ((np.maximum(v, 0.04045) + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(linear: ArrayLike) -> FloatArray:
    """Encode linear-light values to sRGB (inverse of :func:`srgb_to_linear`)."""
    v = np.asarray(linear, dtype=np.float64)
    high = 1.055 * np.maximum(v, 0.0031308) ** (1.0 / 2.4) - 0.055
    return np.where(v <= 0.0031308, v * 12.92, high)


def srgb_to_lab(srgb: ArrayLike) -> FloatArray:
    """Convert sRGB in ``[0, 1]`` to CIELAB (D65, L* in ``[0, 100]``) [1]_ [2]_."""
    xyz = _matmul3(srgb_to_linear(_as_float(srgb)), _RGB_TO_XYZ) / _WHITE_XYZ
    f = np.where(
        xyz > _LAB_DELTA**3,
        np.cbrt(xyz),
        xyz / (3 * _LAB_DELTA**2) + 4.0 / 29.0,
    )
    lab: FloatArray = np.empty_like(f)
    lab[..., 0] = 116.0 * f[..., 1] - 16.0
    lab[..., 1] = 500.0 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200.0 * (f[..., 1] - f[..., 2])
    return lab


def lab_to_srgb(lab: ArrayLike) -> FloatArray:
    """Convert CIELAB (D65) to sRGB; out-of-gamut results are *not* clipped."""
    lab = _as_float(lab)
    fy = (lab[..., 0] + 16.0) / 116.0
    f = np.stack([fy + lab[..., 1] / 500.0, fy, fy - lab[..., 2] / 200.0], axis=-1)
    xyz = np.where(f > _LAB_DELTA, f**3, 3 * _LAB_DELTA**2 * (f - 4.0 / 29.0))
    return linear_to_srgb(_matmul3(xyz * _WHITE_XYZ, _XYZ_TO_RGB))


def srgb_to_oklab(srgb: ArrayLike) -> FloatArray:
    """Convert sRGB in ``[0, 1]`` to Oklab (L in ``[0, 1]``) [3]_."""
    lms = _matmul3(srgb_to_linear(_as_float(srgb)), _RGB_TO_LMS)
    return _matmul3(np.cbrt(lms), _LMS_TO_OKLAB)


def oklab_to_srgb(oklab: ArrayLike) -> FloatArray:
    """Convert Oklab to sRGB; out-of-gamut results are *not* clipped."""
    lms = _matmul3(_as_float(oklab), _OKLAB_TO_LMS) ** 3
    return linear_to_srgb(_matmul3(lms, _LMS_TO_RGB))
