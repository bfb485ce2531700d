"""Palette order and palette files as functions of a :class:`~kmeans_quantize.palette.Palette`.

The formats are described in :mod:`~kmeans_quantize.palette_files`, the orders in
:func:`~kmeans_quantize.palette.sort_palette`; :class:`~kmeans_quantize.palette.Palette`
has the same as methods (``sorted``, ``save``, ``load``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .palette import ACHROMATIC_CHROMA, SORT_KEYS, Palette, sort_palette
from .palette_files import FORMATS, SUFFIX_FORMATS, SWATCH_SIZE, PathLike, entry_labels, swatch_strip
from .pixels import to_rgb8

__all__ = [
    "SORT_KEYS",
    "FORMATS",
    "SUFFIX_FORMATS",
    "ACHROMATIC_CHROMA",
    "sort_palette",
    "save_palette",
    "load_palette",
    "render_swatch",
    "entry_names",
]


def render_swatch(
    palette: Palette, width: int = SWATCH_SIZE[0], height: int = SWATCH_SIZE[1]
) -> NDArray[np.uint8]:
    """Draw the palette as a strip of swatches, left to right in palette order.

    Each colour gets a width proportional to its share of the counts (equal
    widths if the palette has no counts), rounded to whole pixels, and at least
    one pixel, so every colour appears.

    Parameters
    ----------
    palette : Palette
        Any palette; drawn in 8-bit sRGB (gray as R = G = B).
    width, height : int
        Size of the strip in pixels; ``width`` must be at least ``len(palette)``.

    Returns
    -------
    ndarray of uint8, shape (height, width, 3)
    """
    return swatch_strip(to_rgb8(palette.colors), palette.counts, width, height)


def entry_names(palette: Palette) -> list[str]:
    """Names for the palette's entries in a GIMP palette: ``"#rrggbb (N px)"``, or just the hex code
    when the palette has no pixel counts."""
    return entry_labels(to_rgb8(palette.colors), palette.counts)


def save_palette(
    palette: Palette, path: PathLike, format: str | None = None, *, name: str | None = None
) -> None:
    """Write ``palette`` to ``path``, atomically: :meth:`Palette.save
    <kmeans_quantize.palette.Palette.save>` (formats: :func:`~.palette_files.write_palette_file`)."""
    palette.save(path, format, name=name)


def load_palette(path: PathLike, format: str | None = None) -> Palette:
    """Read a palette file: :meth:`Palette.load <kmeans_quantize.palette.Palette.load>` (formats:
    :func:`~.palette_files.read_palette_file`)."""
    return Palette.load(path, format)
