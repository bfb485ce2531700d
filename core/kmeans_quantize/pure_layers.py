"""Several layers of 8-bit pixel bytes through the numpy-free engine, for the GIMP plug-in.

What the plug-in does with :func:`kmeans_quantize.fit_palette` and
:func:`kmeans_quantize.apply_palette` when numpy is there, without numpy: one palette
fitted over several layers (:func:`quantize_layers`), and GIMP palette entry names
(:func:`entry_names`), and alpha added to the bytes of a layer without it (:func:`with_alpha`).
Standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from .pure_quantize import FORMATS, PurePalette, PureResult, _check_format, quantize_bytes

__all__ = ["LayerBytes", "quantize_layers", "entry_names", "with_alpha"]


@dataclass(frozen=True)
class LayerBytes:
    """One layer's pixels as GIMP gives them, and the selection's coverage of it.

    Attributes
    ----------
    pixels : bytes
        ``width * height`` pixels in the format given to :func:`quantize_layers`.
    width, height : int
    coverage : bytes or None
        One byte per pixel (``"Y u8"``), or None without a selection.
    """

    pixels: bytes
    width: int
    height: int
    coverage: bytes | None = None


def quantize_layers(
    layers: Sequence[LayerBytes], pixel_format: str, n_colors: int, *, shared: bool, **options: Any
) -> list[PureResult]:
    """Each layer quantized: with its own palette, or with one palette fitted over all of them.

    Parameters
    ----------
    layers : sequence of LayerBytes
    pixel_format : str
        As for :func:`~kmeans_quantize.pure_quantize.quantize_bytes`.
    n_colors : int
    shared : bool
        Fit one palette over the colours of all layers (their histograms summed, as
        :func:`kmeans_quantize.fit_palette` does) and map every layer with it. Each
        result then holds that palette, with the pixel counts of all layers.
    **options
        Keyword arguments of :func:`~kmeans_quantize.pure_quantize.quantize_bytes`.

    Returns
    -------
    list of PureResult
        One per layer, in order.
    """
    if not shared or len(layers) == 1:
        return [
            quantize_bytes(
                layer.pixels,
                layer.width,
                layer.height,
                pixel_format,
                n_colors,
                coverage=layer.coverage,
                **options,
            )
            for layer in layers
        ]
    # The pixels of all layers in one row: k-means without dithering does not look at where a
    # pixel is, so this is the summed histogram, and the mapping is every layer's.
    total = sum(layer.width * layer.height for layer in layers)
    coverage = None
    if any(layer.coverage is not None for layer in layers):
        coverage = b"".join(
            layer.coverage if layer.coverage is not None else b"\xff" * (layer.width * layer.height)
            for layer in layers
        )
    joined = quantize_bytes(
        b"".join(layer.pixels for layer in layers),
        total,
        1,
        pixel_format,
        n_colors,
        coverage=coverage,
        **options,
    )
    size = FORMATS[_check_format(pixel_format)][0]
    results = []
    start = 0
    for layer in layers:
        n_pixels = layer.width * layer.height
        labels = None if joined.labels is None else joined.labels[start : start + n_pixels]
        results.append(
            replace(joined, pixels=joined.pixels[size * start : size * (start + n_pixels)], labels=labels)
        )
        start += n_pixels
    return results


def with_alpha(pixels: bytes, pixel_format: str) -> bytes:
    """The pixels with an opaque alpha channel added (``"R'G'B' u8"`` gives ``"R'G'B'A u8"``
    bytes, ``"Y' u8"`` gives ``"Y'A u8"``); pixels that have alpha are returned as they are.

    The plug-in reads a layer without alpha in its own format and adds alpha here: asking GEGL
    for ``"R'G'B'A u8"`` instead made babl convert every pixel, and first search a conversion
    path, 0.29 s in each plug-in process (GIMP 3.0.4, a 32x32 layer).
    """
    size, has_alpha, _ = FORMATS[_check_format(pixel_format)]
    if has_alpha:
        return bytes(pixels)
    out = bytearray(b"\xff") * ((size + 1) * (len(pixels) // size))
    for channel in range(size):
        out[channel :: size + 1] = pixels[channel::size]
    return bytes(out)


def entry_names(palette: PurePalette) -> list[str]:
    """Names for the palette's entries in a GIMP palette, as :func:`.palette_io.entry_names`
    gives them: ``"#rrggbb (N px)"`` (gray ``y`` as ``#yyyyyy``), or the hex code alone when
    no colour has a pixel."""
    codes = [
        "#" + "".join(f"{value:02x}" for value in (color * 3 if len(color) == 1 else color))
        for color in palette.colors
    ]
    if not any(palette.counts):
        return codes
    return [f"{code} ({count} px)" for code, count in zip(codes, palette.counts, strict=True)]
