"""Image-quality measures: how far a quantized image is from the original.

* :func:`mse` and :func:`psnr` compare stored values on the 8-bit scale (0-255),
  whatever the dtype, so results for uint8, uint16 and float images are comparable.
* :func:`delta_e_2000` is the CIEDE2000 colour difference [1]_ [2]_ between CIELAB
  colours; :func:`mean_delta_e_2000` averages it over the pixels of two sRGB images.

References
----------
.. [1] G. Sharma, W. Wu and E. N. Dalal, "The CIEDE2000 color-difference formula:
       implementation notes, supplementary test data, and mathematical
       observations", Color Research & Application 30(1), 21-30, 2005.
.. [2] CIE 142-2001, "Improvement to industrial colour-difference evaluation".
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .colorspace import srgb_to_lab
from .pixels import SUPPORTED_DTYPES, prepare_pixels, to_unit

__all__ = ["mse", "psnr", "delta_e_2000", "mean_delta_e_2000"]

FloatArray = NDArray[np.float64]

_25_POW_7 = 25.0**7


def _to_255(values: object, name: str) -> FloatArray:
    """Check one array and scale it to floats on the 0-255 scale."""
    if not isinstance(values, np.ndarray) or values.dtype not in SUPPORTED_DTYPES:
        described = values.dtype if isinstance(values, np.ndarray) else type(values).__name__
        raise TypeError(f"{name} must be a uint8, uint16, float32 or float64 numpy array, got {described}")
    if values.size == 0:
        raise ValueError(f"{name} is empty")
    if values.dtype.kind == "f" and not (
        np.isfinite(values).all() and values.min() >= 0 and values.max() <= 1
    ):
        raise ValueError(f"{name}: float values must be finite and lie in [0, 1]")
    if values.dtype == np.uint8:
        # Exact: no division and multiplication by 255.
        return values.astype(np.float64)
    return to_unit(values, values.dtype) * 255.0


def mse(a: NDArray[Any], b: NDArray[Any]) -> float:
    """Mean squared error between two arrays, on the 8-bit scale.

    Parameters
    ----------
    a, b : ndarray
        Arrays of the same shape (images, palettes, ...), each uint8, uint16,
        float32 or float64 (floats in ``[0, 1]``); the dtypes may differ. Each is
        first scaled to 0-255: uint16 values by 255/65535, floats by 255.

    Returns
    -------
    float
        The mean of the squared differences over all elements: every pixel and
        every channel (alpha included, if present).
    """
    if np.shape(a) != np.shape(b):
        raise ValueError(f"a and b must have the same shape, got {np.shape(a)} and {np.shape(b)}")
    difference = _to_255(a, "a") - _to_255(b, "b")
    return float(np.mean(difference * difference))


def psnr(a: NDArray[Any], b: NDArray[Any]) -> float:
    """Peak signal-to-noise ratio in decibels, with a peak of 255: ``10 log10(255^2 / mse)``.

    Parameters
    ----------
    a, b : ndarray
        As for :func:`mse`.

    Returns
    -------
    float
        ``inf`` when the arrays are equal on the 0-255 scale.
    """
    error = mse(a, b)
    return float("inf") if error == 0 else float(10.0 * np.log10(255.0**2 / error))


def delta_e_2000(lab1: ArrayLike, lab2: ArrayLike) -> FloatArray:
    """CIEDE2000 colour difference between CIELAB colours, with kL = kC = kH = 1.

    Implemented as in Sharma, Wu and Dalal [1]_ (equations 1-22), including their
    convention for the mean hue of hues more than 180 degrees apart. Their special
    cases for a colour with zero chroma (hue angle 0; hue difference 0; mean hue
    h1' + h2') are left out because they cannot change the result: with zero chroma
    the hue difference term 2 sqrt(C1' C2') sin(dh'/2) is 0, and the mean hue only
    enters through terms multiplied by it.

    Parameters
    ----------
    lab1, lab2 : array_like, shape (..., 3)
        CIELAB colours (L*, a*, b*); the shapes broadcast against each other.

    Returns
    -------
    ndarray of float64, shape (...)
        Delta E 2000 for each pair (a 0-d array for a single pair). Symmetric in its
        arguments and 0 for identical colours.
    """
    first = np.asarray(lab1, dtype=np.float64)
    second = np.asarray(lab2, dtype=np.float64)
    if first.shape[-1:] != (3,) or second.shape[-1:] != (3,):
        raise ValueError(f"expected CIELAB arrays of shape (..., 3), got {first.shape} and {second.shape}")
    l1, a1, b1 = first[..., 0], first[..., 1], first[..., 2]
    l2, a2, b2 = second[..., 0], second[..., 1], second[..., 2]

    # Eqs. 2-7: a* stretched near the neutral axis, then C' and h' (degrees, [0, 360)).
    chroma_mean_7 = ((np.hypot(a1, b1) + np.hypot(a2, b2)) / 2.0) ** 7
    g = 0.5 * (1.0 - np.sqrt(chroma_mean_7 / (chroma_mean_7 + _25_POW_7)))
    a1p, a2p = (1.0 + g) * a1, (1.0 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360.0
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360.0

    # Eqs. 8-12: differences in lightness, chroma and hue.
    chroma_product = c1p * c2p
    hue_gap = h2p - h1p
    dhp = np.where(hue_gap > 180.0, hue_gap - 360.0, np.where(hue_gap < -180.0, hue_gap + 360.0, hue_gap))
    dlp = l2 - l1
    dcp = c2p - c1p
    dhp_big = 2.0 * np.sqrt(chroma_product) * np.sin(np.radians(dhp) / 2.0)

    # Eqs. 13-14: means; the mean hue goes the short way round the circle.
    lp_mean = (l1 + l2) / 2.0
    cp_mean = (c1p + c2p) / 2.0
    hue_sum = h1p + h2p
    hp_mean = np.where(
        np.abs(hue_gap) <= 180.0,
        hue_sum / 2.0,
        np.where(hue_sum < 360.0, (hue_sum + 360.0) / 2.0, (hue_sum - 360.0) / 2.0),
    )

    # Eqs. 15-21: weighting functions and the rotation term.
    hp_radians = np.radians(hp_mean)
    t = (
        1.0
        - 0.17 * np.cos(hp_radians - np.radians(30.0))
        + 0.24 * np.cos(2.0 * hp_radians)
        + 0.32 * np.cos(3.0 * hp_radians + np.radians(6.0))
        - 0.20 * np.cos(4.0 * hp_radians - np.radians(63.0))
    )
    delta_theta = 30.0 * np.exp(-(((hp_mean - 275.0) / 25.0) ** 2))
    cp_mean_7 = cp_mean**7
    r_c = 2.0 * np.sqrt(cp_mean_7 / (cp_mean_7 + _25_POW_7))
    lightness_offset = (lp_mean - 50.0) ** 2
    s_l = 1.0 + 0.015 * lightness_offset / np.sqrt(20.0 + lightness_offset)
    s_c = 1.0 + 0.045 * cp_mean
    s_h = 1.0 + 0.015 * cp_mean * t
    r_t = -np.sin(np.radians(2.0 * delta_theta)) * r_c

    # Eq. 22.
    lightness_term = dlp / s_l
    chroma_term = dcp / s_c
    hue_term = dhp_big / s_h
    squared = lightness_term**2 + chroma_term**2 + hue_term**2 + r_t * chroma_term * hue_term
    result: FloatArray = np.sqrt(squared)
    return result


def _lab_of(colors: NDArray[Any]) -> FloatArray:
    """CIELAB of stored sRGB colour rows ``(N, 3)`` or gray rows ``(N, 1)``."""
    unit = to_unit(colors, colors.dtype)
    return srgb_to_lab(np.repeat(unit, 3, axis=1) if unit.shape[1] == 1 else unit)


def mean_delta_e_2000(
    image_a: NDArray[Any], image_b: NDArray[Any], mask: NDArray[np.bool_] | None = None
) -> float:
    """Mean CIEDE2000 difference between two sRGB images, pixel by pixel.

    Parameters
    ----------
    image_a, image_b : ndarray, shape (H, W) or (H, W, C)
        Images of the same shape with C = 1 (gray), 2 (gray + alpha), 3 (RGB) or
        4 (RGBA); each uint8, uint16, float32 or float64 (floats in ``[0, 1]``), the
        dtypes may differ. Values are sRGB-encoded; gray is R = G = B. Colours are
        converted at full precision (no rounding to 8 bits) with
        :func:`~kmeans_quantize.colorspace.srgb_to_lab` (D65).
    mask : ndarray of bool, shape (H, W), optional
        Only pixels where ``mask`` is true are compared.

    Returns
    -------
    float
        The mean of :func:`delta_e_2000` over the compared pixels. Alpha is not
        compared, but pixels fully transparent in either image are left out, as
        they are when a palette is fitted.

    Raises
    ------
    ValueError
        If the shapes differ or no pixel is left to compare.
    """
    if np.shape(image_a) != np.shape(image_b):
        raise ValueError(
            f"image_a and image_b must have the same shape, got {np.shape(image_a)} and {np.shape(image_b)}"
        )
    first = prepare_pixels(image_a, mask)
    second = prepare_pixels(image_b, mask)
    selected = first.selected & second.selected
    if not selected.any():
        raise ValueError("no pixels to compare: the mask and alpha leave none")
    differences = delta_e_2000(_lab_of(first.colors[selected]), _lab_of(second.colors[selected]))
    return float(np.mean(differences))
