"""Clustering spaces: where stored pixel values go to be clustered, and back.

=========  ==========================================  ===========================
name       coordinates                                 unit of ``tol`` / distance
=========  ==========================================  ===========================
``rgb``    sRGB values scaled to 0-255                 one 8-bit sRGB step
``lab``    CIELAB, D65 (L* 0-100)                      CIE76 Delta E
``oklab``  Oklab scaled by 100 (L 0-100)               Oklab distance x 100
=========  ==========================================  ===========================

Each is a :class:`ColorSpace` (:data:`RGB`, :data:`LAB`, :data:`OKLAB`), looked up once
from the user's string by :meth:`ColorSpace.named`. Gray images are clustered on one
axis: the gray value (``rgb``) or the lightness (``lab``, ``oklab``; a neutral gray
has a = b = 0). The colour conversions themselves are in :mod:`.colorspace`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import colorspace
from .choices import Choice
from .pixels import from_unit, to_unit

__all__ = [
    "ColorSpaceName",
    "ColorSpace",
    "RGB",
    "LAB",
    "OKLAB",
    "COLOR_SPACES",
    "Bounds",
    "check_color_space",
]

FloatArray = NDArray[np.float64]
#: A per-channel box (low, high) in a clustering space.
Bounds = tuple[FloatArray, FloatArray]


class ColorSpaceName(Choice):
    """The names users pick a clustering space by."""

    RGB = "rgb"
    LAB = "lab"
    OKLAB = "oklab"


COLOR_SPACES = ColorSpaceName.names()

#: The most an "rgb" coordinate can be: sRGB is scaled to 0-255.
_RGB_HIGH = 255.0


@dataclass(frozen=True)
class ColorSpace:
    """A clustering space that is sRGB itself, scaled to 0-255 (``rgb``).

    Attributes
    ----------
    name : ColorSpaceName
    tol_unit : str
        What one unit of distance (and of ``tol``) is in this space.
    """

    name: ColorSpaceName
    tol_unit: str

    @staticmethod
    def named(name: object) -> ColorSpace:
        """The space called ``name`` ("rgb", "lab" or "oklab").

        Raises
        ------
        ValueError
            For any other name.
        """
        return _BY_NAME[ColorSpaceName.parse(name, "color_space")]

    def encode(self, values: NDArray[Any], dtype: np.dtype[Any]) -> FloatArray:
        """Map stored colour values ``(N, C)`` of ``dtype`` into this space."""
        if dtype == np.uint8:
            # Exact small integers: keeps the weighted sums of k-means exact.
            return values.astype(np.float64)
        return to_unit(values, dtype) * _RGB_HIGH

    def decode(self, points: FloatArray, dtype: np.dtype[Any]) -> NDArray[Any]:
        """Map points of this space back to stored values of ``dtype``, clipped to the gamut."""
        return from_unit(points / _RGB_HIGH, dtype)

    def gamut_bounds(self, n_channels: int) -> Bounds | None:
        """The box the sRGB gamut fills in this space, for ``n_channels`` coordinates; None
        where the gamut is not a box (CIELAB, Oklab)."""
        return np.zeros(n_channels), np.full(n_channels, _RGB_HIGH)


@dataclass(frozen=True)
class _ConvertedSpace(ColorSpace):
    """A clustering space reached from sRGB by a conversion of :mod:`.colorspace`, then scaled."""

    to_space: Callable[[FloatArray], FloatArray]
    to_srgb: Callable[[FloatArray], FloatArray]
    scale: float

    def encode(self, values: NDArray[Any], dtype: np.dtype[Any]) -> FloatArray:
        unit = to_unit(values, dtype)
        if unit.shape[1] == 1:
            rgb = np.repeat(unit, 3, axis=1)
            return self.to_space(rgb)[:, :1] * self.scale
        return self.to_space(unit) * self.scale

    def decode(self, points: FloatArray, dtype: np.dtype[Any]) -> NDArray[Any]:
        scaled = points / self.scale
        if scaled.shape[1] == 1:
            neutral = np.zeros((scaled.shape[0], 3))
            neutral[:, :1] = scaled
            # A neutral colour decodes to R = G = B up to rounding: take their mean.
            return from_unit(self.to_srgb(neutral).mean(axis=1, keepdims=True), dtype)
        return from_unit(self.to_srgb(scaled), dtype)

    def gamut_bounds(self, n_channels: int) -> Bounds | None:
        return None


RGB = ColorSpace(ColorSpaceName.RGB, "one 8-bit sRGB step")
LAB = _ConvertedSpace(
    ColorSpaceName.LAB, "CIE76 Delta E", colorspace.srgb_to_lab, colorspace.lab_to_srgb, 1.0
)
# Oklab's L runs 0-1; scaling by 100 gives it the same order of magnitude as
# CIELAB, so one default ``tol`` means about the same in both spaces.
OKLAB = _ConvertedSpace(
    ColorSpaceName.OKLAB, "Oklab distance x 100", colorspace.srgb_to_oklab, colorspace.oklab_to_srgb, 100.0
)
_BY_NAME = {space.name: space for space in (RGB, LAB, OKLAB)}


def check_color_space(color_space: object) -> str:
    """The name of a clustering space as a plain string, as :class:`~.palette.Palette` keeps it.

    Raises
    ------
    ValueError
        For an unknown name.
    """
    return ColorSpace.named(color_space).name.value
