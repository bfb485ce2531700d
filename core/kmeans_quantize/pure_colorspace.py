"""Colour-space conversions of single colours, in plain Python (no numpy).

The same formulas, constants and order of operations as
:mod:`kmeans_quantize.colorspace`, one colour at a time: a colour is a tuple of
three floats, sRGB values are encoded (gamma-compressed) in ``[0, 1]``. The
inverse matrices are computed here by cofactors instead of LAPACK, and cube
roots by :func:`math.cbrt` (Python 3.11+) or a power, so results agree with the
numpy module to about 1e-15, not bit for bit (a test checks 1e-9).
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = [
    "Color",
    "srgb_to_linear",
    "linear_to_srgb",
    "linear_to_lab",
    "lab_to_srgb",
    "linear_to_oklab",
    "oklab_to_srgb",
]

Color = tuple[float, float, float]
Matrix = tuple[Color, Color, Color]

_RGB_TO_XYZ: Matrix = (
    (0.4124564, 0.3575761, 0.1804375),
    (0.2126729, 0.7151522, 0.0721750),
    (0.0193339, 0.1191920, 0.9503041),
)
_RGB_TO_LMS: Matrix = (
    (0.4122214708, 0.5363325363, 0.0514459929),
    (0.2119034982, 0.6806995451, 0.1073969566),
    (0.0883024619, 0.2817188376, 0.6299787005),
)
_LMS_TO_OKLAB: Matrix = (
    (0.2104542553, 0.7936177850, -0.0040720468),
    (1.9779984951, -2.4285922050, 0.4505937099),
    (0.0259040371, 0.7827717662, -0.8086757660),
)
_LAB_DELTA = 6.0 / 29.0


def _inverse(m: Matrix) -> Matrix:
    """Inverse of a 3x3 matrix by cofactors (the matrices here are far from singular)."""
    (a, b, c), (d, e, f), (g, h, i) = m
    cofactors = (
        (e * i - f * h, c * h - b * i, b * f - c * e),
        (f * g - d * i, a * i - c * g, c * d - a * f),
        (d * h - e * g, b * g - a * h, a * e - b * d),
    )
    det = a * cofactors[0][0] + b * cofactors[1][0] + c * cofactors[2][0]
    rows = [(x / det, y / det, z / det) for x, y, z in cofactors]
    return rows[0], rows[1], rows[2]


_XYZ_TO_RGB = _inverse(_RGB_TO_XYZ)
_LMS_TO_RGB = _inverse(_RGB_TO_LMS)
_OKLAB_TO_LMS = _inverse(_LMS_TO_OKLAB)
# As in colorspace.py: the matrix's own row sums, so that white lands on L* = 100.
_WHITE_XYZ: Color = (sum(_RGB_TO_XYZ[0]), sum(_RGB_TO_XYZ[1]), sum(_RGB_TO_XYZ[2]))


def _cbrt_power(x: float) -> float:
    root = float(abs(x) ** (1.0 / 3.0))
    return root if x >= 0.0 else -root


#: Real cube root: math.cbrt where it exists (Python 3.11+), as np.cbrt does.
cbrt: Callable[[float], float] = getattr(math, "cbrt", _cbrt_power)


def _matmul3(v: Color, m: Matrix) -> Color:
    """``m @ v``, each row as multiply-adds in the order colorspace._matmul3 uses."""
    x, y, z = v
    return (
        m[0][0] * x + m[0][1] * y + m[0][2] * z,
        m[1][0] * x + m[1][1] * y + m[1][2] * z,
        m[2][0] * x + m[2][1] * y + m[2][2] * z,
    )


def srgb_to_linear(v: float) -> float:
    """Decode one sRGB value in ``[0, 1]`` to linear light (IEC 61966-2-1)."""
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def linear_to_srgb(v: float) -> float:
    """Encode one linear-light value to sRGB (inverse of :func:`srgb_to_linear`)."""
    return v * 12.92 if v <= 0.0031308 else 1.055 * v ** (1.0 / 2.4) - 0.055


def _lab_f(t: float) -> float:
    return cbrt(t) if t > _LAB_DELTA**3 else t / (3 * _LAB_DELTA**2) + 4.0 / 29.0


def _lab_f_inverse(f: float) -> float:
    return f**3 if f > _LAB_DELTA else 3 * _LAB_DELTA**2 * (f - 4.0 / 29.0)


def linear_to_lab(linear: Color) -> Color:
    """Linear sRGB to CIELAB (D65), as :func:`kmeans_quantize.colorspace.srgb_to_lab` after decoding."""
    x, y, z = _matmul3(linear, _RGB_TO_XYZ)
    wx, wy, wz = _WHITE_XYZ
    fx, fy, fz = _lab_f(x / wx), _lab_f(y / wy), _lab_f(z / wz)
    return 116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)


def lab_to_srgb(lab: Color) -> Color:
    """CIELAB (D65) to sRGB; out-of-gamut results are not clipped."""
    fy = (lab[0] + 16.0) / 116.0
    f = (fy + lab[1] / 500.0, fy, fy - lab[2] / 200.0)
    xyz = (
        _lab_f_inverse(f[0]) * _WHITE_XYZ[0],
        _lab_f_inverse(f[1]) * _WHITE_XYZ[1],
        _lab_f_inverse(f[2]) * _WHITE_XYZ[2],
    )
    r, g, b = _matmul3(xyz, _XYZ_TO_RGB)
    return linear_to_srgb(r), linear_to_srgb(g), linear_to_srgb(b)


def linear_to_oklab(linear: Color) -> Color:
    """Linear sRGB to Oklab (L in ``[0, 1]``)."""
    l, m, s = _matmul3(linear, _RGB_TO_LMS)  # noqa: E741 - the LMS cone responses
    return _matmul3((cbrt(l), cbrt(m), cbrt(s)), _LMS_TO_OKLAB)


def oklab_to_srgb(oklab: Color) -> Color:
    """Oklab to sRGB; out-of-gamut results are not clipped."""
    l, m, s = _matmul3(oklab, _OKLAB_TO_LMS)  # noqa: E741
    r, g, b = _matmul3((l**3, m**3, s**3), _LMS_TO_RGB)
    return linear_to_srgb(r), linear_to_srgb(g), linear_to_srgb(b)
