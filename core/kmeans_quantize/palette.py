"""The palette: the colours an image is reduced to, with how often each is used, and their order.

References
----------
.. [1] CIE 15:2004, "Colorimetry", section 8.2.1: CIELAB lightness L*, chroma
       C*ab and hue angle h_ab.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .clustering_space import check_color_space
from .colorspace import srgb_to_lab
from .palette_files import PaletteContent, read_palette_file, shares, write_palette_file
from .pixels import SUPPORTED_DTYPES, to_rgb8, to_unit

__all__ = ["Palette", "gray_colors", "sort_palette", "SORT_KEYS", "ACHROMATIC_CHROMA"]

SORT_KEYS = ("frequency", "luminance", "hue")

# Colours with CIELAB chroma below this have no meaningful hue: "hue" order puts
# them first, as a gray ramp.
ACHROMATIC_CHROMA = 2.0


def _shown(color: NDArray[Any]) -> str:
    """A colour for a message: ``#rrggbb`` for 8-bit values, the values themselves otherwise."""
    if color.dtype == np.uint8:
        return "#" + "".join(f"{int(value):02x}" for value in color)
    return "(" + ", ".join(f"{value:g}" for value in color.tolist()) + ")"


def gray_colors(colors: NDArray[Any], name: str = "the palette") -> NDArray[Any]:
    """Gray colours, shape (n, 1), from colours that are already gray or RGB with R = G = B.

    Palette files always hold RGB; this lets their gray colours serve a gray image.

    Parameters
    ----------
    colors : ndarray, shape (n, 1) or (n, 3)
    name : str
        What the colours are, for the error message ("the palette", "fixed_colors").

    Raises
    ------
    ValueError
        If an RGB colour is not gray, naming the first such colour and its row.
    """
    if colors.shape[1] == 1:
        return colors
    is_gray = (colors[:, 0] == colors[:, 1]) & (colors[:, 1] == colors[:, 2])
    if not is_gray.all():
        row = int(np.argmin(is_gray))
        raise ValueError(
            f"a gray image needs gray colours (R = G = B); {name} has colour {_shown(colors[row])} "
            f"(entry {row})"
        )
    return colors[:, :1]


@dataclass(frozen=True, eq=False)
class Palette:
    """A set of colours, in the dtype and value range of the image they came from.

    Parameters
    ----------
    colors : ndarray, shape (n, C)
        One row per colour: C = 3 (RGB) or 1 (gray). Alpha is never part of
        a palette: it passes through quantization unchanged.
    counts : array_like of int, shape (n,), optional
        Pixels mapped to each colour (zeros if not given).
    color_space : {"rgb", "lab", "oklab"}
        Space in which "nearest colour" is measured when the palette is applied.

    Palettes returned by :func:`~kmeans_quantize.fit_palette` are sorted by
    count, most used first, and hold no duplicate or unused colours.
    """

    colors: NDArray[Any]
    counts: NDArray[np.int64] = field(default=None)  # type: ignore[arg-type]
    color_space: str = "rgb"

    def __post_init__(self) -> None:
        colors = np.array(self.colors, copy=True)
        if colors.ndim == 1 and colors.size:
            colors = colors[:, None]
        if colors.ndim != 2 or colors.shape[1] not in (1, 3) or colors.shape[0] == 0:
            raise ValueError(
                f"palette colors must have shape (n, 3) or (n, 1) with n >= 1, got {colors.shape}"
            )
        if colors.dtype not in SUPPORTED_DTYPES:
            raise TypeError(
                f"unsupported palette dtype {colors.dtype}; pass a uint8, uint16, float32 or float64 "
                "array, e.g. np.array(colors, dtype=np.uint8)"
            )
        if colors.dtype.kind == "f" and not (
            np.isfinite(colors).all() and colors.min() >= 0 and colors.max() <= 1
        ):
            raise ValueError("float palette colors must lie in [0, 1]")
        if self.counts is None:
            counts = np.zeros(colors.shape[0], np.int64)
        else:
            counts = np.array(self.counts)
            if counts.dtype.kind not in "iu" or (counts < 0).any():
                raise ValueError("palette counts must be non-negative integers")
            counts = counts.astype(np.int64)
        if counts.shape != (colors.shape[0],):
            raise ValueError(f"palette counts must have shape ({colors.shape[0]},), got {counts.shape}")
        colors.setflags(write=False)
        counts.setflags(write=False)
        object.__setattr__(self, "colors", colors)
        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "color_space", check_color_space(self.color_space))

    def __len__(self) -> int:
        return int(self.colors.shape[0])

    @property
    def shares(self) -> NDArray[np.float64]:
        """Fraction of the counted pixels that each colour covers."""
        return shares(self.counts)

    def to_gray(self) -> Palette:
        """This palette for gray images: one channel, same counts and ``color_space``.

        An RGB palette whose colours are all gray (R = G = B), as loaded from a palette
        file, keeps its first channel; a gray palette is returned as it is.

        Raises
        ------
        ValueError
            If a colour is not gray: "a gray image needs gray colours (R = G = B); the
            palette has colour #ff0000 (entry 3)".
        """
        if self.colors.shape[1] == 1:
            return self
        return Palette(gray_colors(self.colors), self.counts, color_space=self.color_space)

    def sorted(self, by: str = "frequency") -> Palette:
        """A copy sorted by "frequency", "luminance" or "hue" (see :func:`sort_palette`)."""
        return sort_palette(self, by)

    def save(
        self, path: str | os.PathLike[str], format: str | None = None, *, name: str | None = None
    ) -> None:
        """Write to a GIMP ``.gpl``, hex ``.hex``/``.txt``, ``.json`` or swatch ``.png`` file.

        Files hold 8-bit sRGB: 16-bit and float colours are rounded to 8 bits, gray
        colours are written as R = G = B. See :func:`~.palette_files.write_palette_file`.
        """
        content = PaletteContent(to_rgb8(self.colors), self.counts, self.color_space)
        write_palette_file(content, path, format, name=name)

    @classmethod
    def load(cls, path: str | os.PathLike[str], format: str | None = None) -> Palette:
        """Read a ``.gpl``, ``.hex``/``.txt`` or ``.json`` palette file (8-bit RGB).

        See :func:`~.palette_files.read_palette_file`.
        """
        content = read_palette_file(path, format)
        return cls(content.rgb, content.counts, color_space=content.color_space)


def sort_palette(palette: Palette, by: str) -> Palette:
    """Return ``palette`` with its colours (and their counts) in a new order.

    Parameters
    ----------
    palette : Palette
        Any palette: RGB or gray, of any supported dtype.
    by : {"frequency", "luminance", "hue"}
        * ``"frequency"``: most used first (count descending).
        * ``"luminance"``: CIELAB lightness L* ascending, dark to light (CIE 15:2004, section 8.2.1); gray
          palettes by value (the same order, without the conversion).
        * ``"hue"``: first the achromatic colours (CIELAB chroma below
          :data:`ACHROMATIC_CHROMA`) by L*, then the others by hue angle
          h_ab = atan2(b*, a*) in ``[0, 360)`` degrees, counted from the +a* axis
          (red near 40, yellow near 100, green, blue near 300, purple), equal hues
          by L*. A gray palette is all achromatic: by value.

        Colours that tie are ordered by their stored values (first channel first),
        then duplicates by count (largest first), so the result does not depend on
        the input order.

    Returns
    -------
    Palette
        A new palette with the same dtype and ``color_space``.

    Raises
    ------
    ValueError
        If ``by`` is not one of :data:`SORT_KEYS`.
    """
    if by not in SORT_KEYS:
        raise ValueError(f"unknown sort key {by!r}; choose one of {', '.join(SORT_KEYS)}")
    colors = palette.colors
    # np.lexsort sorts by the last key first. The final tie-breaks: the stored
    # values (first channel first), then the count (largest first) for duplicates.
    keys: list[NDArray[Any]] = [-palette.counts]
    keys += [colors[:, channel] for channel in reversed(range(colors.shape[1]))]
    if by == "frequency":
        keys.append(-palette.counts)
    elif colors.shape[1] == 3:
        # For gray palettes the stored value already orders by lightness, and
        # every gray is achromatic: the tie-break keys alone give both orders.
        lab = srgb_to_lab(to_unit(colors, colors.dtype))
        keys.append(lab[:, 0])
        if by == "hue":
            chromatic = np.hypot(lab[:, 1], lab[:, 2]) >= ACHROMATIC_CHROMA
            hue = np.degrees(np.arctan2(lab[:, 2], lab[:, 1])) % 360.0
            keys.append(np.where(chromatic, hue, 0.0))
            keys.append(chromatic)
    order = np.lexsort(keys)
    return Palette(colors[order], palette.counts[order], color_space=palette.color_space)
