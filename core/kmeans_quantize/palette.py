"""The palette: the colours an image is reduced to, with how often each is used."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .pixels import SUPPORTED_DTYPES
from .space import check_color_space

__all__ = ["Palette", "gray_colors"]


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
        total = self.counts.sum()
        return self.counts / total if total else np.zeros(len(self))

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
        """A copy sorted by "frequency", "luminance" or "hue" (see :func:`palette_io.sort_palette`)."""
        from .palette_io import sort_palette

        return sort_palette(self, by)

    def save(
        self, path: str | os.PathLike[str], format: str | None = None, *, name: str | None = None
    ) -> None:
        """Write to a GIMP ``.gpl``, hex ``.hex``/``.txt``, ``.json`` or swatch ``.png`` file."""
        from .palette_io import save_palette

        save_palette(self, path, format, name=name)

    @classmethod
    def load(cls, path: str | os.PathLike[str], format: str | None = None) -> Palette:
        """Read a ``.gpl``, ``.hex``/``.txt`` or ``.json`` palette file (8-bit RGB)."""
        from .palette_io import load_palette

        return load_palette(path, format)
