"""Pixel normalisation: the boundary where user arrays are checked and flattened.

Everything after this stage works on :class:`PixelData`: a flat ``(N, C)`` view of
the colour channels, the alpha channel if any, and a boolean selection of the
pixels that take part in the fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "PixelData",
    "prepare_pixels",
    "to_unit",
    "from_unit",
    "convert",
    "to_rgb8",
    "max_value",
    "SUPPORTED_DTYPES",
]

SUPPORTED_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32), np.dtype(np.float64))

# Channel count -> (colour channels, has alpha).
_LAYOUTS = {1: (1, False), 2: (1, True), 3: (3, False), 4: (3, True)}


@dataclass(frozen=True)
class PixelData:
    """A validated image, flattened to rows of pixels.

    Attributes
    ----------
    image : ndarray
        The caller's array, unchanged (never written to), in any byte order; it
        may be a numpy masked array (the output is then one too, same mask).
    colors : ndarray, shape (N, C)
        The colour channels of every pixel (C = 1 for gray, 3 for RGB), in the
        native byte order: a view of ``image`` where possible.
    alpha : ndarray of shape (N,) or None
        The alpha channel, if the image has one (native byte order).
    selected : ndarray of bool, shape (N,)
        Pixels that take part: inside ``mask`` and not fully transparent.
    """

    image: NDArray[Any]
    colors: NDArray[Any]
    alpha: NDArray[Any] | None
    selected: NDArray[np.bool_]

    @property
    def dtype(self) -> np.dtype[Any]:
        """The pixels' dtype in the native byte order: one of :data:`SUPPORTED_DTYPES`."""
        return self.colors.dtype

    @property
    def spatial_shape(self) -> tuple[int, int]:
        return (self.image.shape[0], self.image.shape[1])

    @property
    def n_color_channels(self) -> int:
        return int(self.colors.shape[1])

    @property
    def all_selected(self) -> bool:
        return bool(self.selected.all())

    def selected_colors(self) -> NDArray[Any]:
        """The colour rows of the selected pixels (no copy when all are selected)."""
        return self.colors if self.all_selected else self.colors[self.selected]


def _check_array(pixels: object) -> NDArray[Any]:
    if not isinstance(pixels, np.ndarray):
        raise TypeError(
            f"pixels must be a numpy array of shape (H, W) or (H, W, C), got {type(pixels).__name__}"
        )
    if pixels.dtype.newbyteorder("=") not in SUPPORTED_DTYPES:
        raise TypeError(
            f"unsupported pixel dtype {pixels.dtype}; use uint8, uint16, float32 or float64 "
            "(floats in [0, 1])"
        )
    if pixels.ndim not in (2, 3):
        raise ValueError(
            f"pixels must have shape (H, W) or (H, W, C), got an array with {pixels.ndim} "
            f"dimension(s) {pixels.shape}"
        )
    if pixels.ndim == 3 and pixels.shape[2] not in _LAYOUTS:
        raise ValueError(
            f"pixels have {pixels.shape[2]} channels; expected 1 (gray), 2 (gray + alpha), "
            "3 (RGB) or 4 (RGBA)"
        )
    if pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise ValueError(f"the image is empty (shape {pixels.shape})")
    if pixels.dtype.kind == "f":
        if not np.isfinite(pixels).all():
            raise ValueError("float pixels contain NaN or infinity")
        low, high = pixels.min(), pixels.max()
        if low < 0 or high > 1:
            raise ValueError(f"float pixels must lie in [0, 1]; found values from {low:g} to {high:g}")
    return pixels


def _check_mask(mask: object, shape: tuple[int, int]) -> NDArray[np.bool_]:
    array = np.asarray(mask)
    if array.dtype != np.bool_:
        raise TypeError(f"mask must be a boolean array, got dtype {array.dtype}")
    if array.shape != shape:
        raise ValueError(f"mask has shape {array.shape}, but the image is {shape[0]}x{shape[1]} (H, W)")
    return array


def prepare_pixels(pixels: object, mask: object | None = None) -> PixelData:
    """Validate ``pixels`` (and ``mask``) and flatten them to :class:`PixelData`.

    The pixels of a numpy masked array that have any channel masked are left out, like
    those where ``mask`` is False. Their values are checked all the same (NaN is refused
    under the mask too): they are copied to the output.

    Raises
    ------
    TypeError, ValueError
        With a message naming what is wrong with the input.
    """
    hidden: NDArray[np.bool_] | None = None
    output: NDArray[Any]  # what the output is a copy of
    if isinstance(pixels, np.ma.MaskedArray):
        # The output is a copy of the masked array: the same mask, its masked pixels unchanged.
        # (np.asarray gives the data; the mask may be one False for all, hence the broadcast.)
        hidden, output = np.broadcast_to(np.asarray(pixels.mask, dtype=np.bool_), pixels.shape), pixels
        image = _check_array(np.asarray(pixels))
    else:
        image = output = _check_array(pixels)
    height, width = image.shape[:2]
    channels = 1 if image.ndim == 2 else image.shape[2]
    n_color, has_alpha = _LAYOUTS[channels]
    flat = image.reshape(height * width, channels)
    if flat.dtype != image.dtype.newbyteorder("="):
        # Another byte order ('>u2' on a little-endian machine): converted once here, so that
        # everything after works on native values (writing them back converts again).
        flat = flat.astype(image.dtype.newbyteorder("="))
    colors = flat[:, :n_color]
    alpha = flat[:, n_color] if has_alpha else None

    selected = np.ones(height * width, dtype=bool)
    if mask is not None:
        selected &= _check_mask(mask, (height, width)).reshape(-1)
    if alpha is not None:
        selected &= alpha != 0
    if hidden is not None:
        selected &= ~hidden.reshape(height * width, channels).any(axis=1)
    return PixelData(image=output, colors=colors, alpha=alpha, selected=selected)


def max_value(dtype: np.dtype[Any]) -> float:
    """Largest stored value of ``dtype``: 255, 65535, or 1.0 for floats."""
    return float(np.iinfo(dtype).max) if dtype.kind == "u" else 1.0


def to_unit(values: NDArray[Any], dtype: np.dtype[Any]) -> NDArray[np.float64]:
    """Scale values stored as ``dtype`` to floats in ``[0, 1]``."""
    return np.asarray(values, dtype=np.float64) / max_value(dtype)


def from_unit(unit: NDArray[Any], dtype: np.dtype[Any]) -> NDArray[Any]:
    """Scale floats in ``[0, 1]`` (clipped) to ``dtype``, rounding integer types."""
    clipped = np.clip(unit, 0.0, 1.0)
    if dtype.kind == "u":
        scaled: NDArray[Any] = np.rint(clipped * max_value(dtype)).astype(dtype)
        return scaled
    converted: NDArray[Any] = clipped.astype(dtype)
    return converted


def convert(values: NDArray[Any], dtype: np.dtype[Any]) -> NDArray[Any]:
    """Values stored as their own dtype, stored as ``dtype`` instead (same colours, rounded)."""
    return from_unit(to_unit(values, values.dtype), dtype)


def to_rgb8(colors: NDArray[Any]) -> NDArray[np.uint8]:
    """Colours ``(n, 1)`` (gray) or ``(n, 3)`` of any supported dtype as 8-bit RGB ``(n, 3)``."""
    rgb8: NDArray[np.uint8] = convert(colors, np.dtype(np.uint8))
    return np.repeat(rgb8, 3, axis=1) if rgb8.shape[1] == 1 else rgb8
