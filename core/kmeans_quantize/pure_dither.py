"""Floyd–Steinberg and ordered dithering of 8-bit pixel bytes in plain Python.

The numpy-free twin of :func:`kmeans_quantize.dither.dither_labels`, with the same rules (see
that module's docstring): values in the palette's clustering space, Floyd–Steinberg in raster
order with the error terms added in the same order (7/16 left, 3/16 upper right, 5/16 upper,
1/16 upper left), pixels that take no part neither receiving nor spreading error, Bayer's 8x8
thresholds times half the local palette gap over sqrt(D), values clamped to 0–255 in ``rgb``,
exact nearest colour with ties to the colour that sorts first. In ``rgb`` the output is that of
the numpy engine, pixel for pixel; in ``lab`` and ``oklab`` the conversions differ from numpy's
in the last bits, which error diffusion can carry on to other choices.

GIMP's own conversion to indexed mode was the other candidate: it maps to a custom palette with
its own reduced colour lookup, not to the nearest colour (on a 96x80 test photo with 8 colours
it chose another colour than the nearest for 23 % of the pixels, undithered, with 26 % more
squared error), so the plug-in dithers here instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .pure_kmeans import MARGIN_SLACK, Neighbors
from .pure_layers import LayerBytes
from .pure_quantize import FORMATS, PurePalette, _check_format, checked_bytes, taking_part
from .pure_space import Point, space

__all__ = ["DITHER_METHODS", "dither_labels", "paint"]

DITHER_METHODS = ("floyd-steinberg", "ordered")

#: Bayer's 8x8 index matrix, built from [[0, 2], [3, 1]] by M -> [[4M, 4M + 2], [4M + 3, 4M + 1]].
_BAYER = [[0]]
for _ in range(3):
    _BAYER = [[4 * v for v in row] + [4 * v + 2 for v in row] for row in _BAYER] + [
        [4 * v + 3 for v in row] + [4 * v + 1 for v in row] for row in _BAYER
    ]
#: The thresholds, ``(b + 0.5) / 64 - 0.5``, by row and column modulo 8.
THRESHOLDS = [[(b + 0.5) / 64.0 - 0.5 for b in row] for row in _BAYER]


def dither_labels(
    layer: LayerBytes,
    pixel_format: str,
    palette: PurePalette,
    method: str,
    *,
    progress: Callable[[float], None] | None = None,
) -> list[int]:
    """Each pixel's index into ``palette.colors`` with dithering; -1 where a pixel takes no part.

    Parameters
    ----------
    layer : LayerBytes
        Its pixels in ``pixel_format`` (as for
        :func:`~kmeans_quantize.pure_quantize.quantize_bytes`), and the coverage: pixels with
        coverage 0, like pixels with alpha 0, take no part.
    pixel_format : str
    palette : PurePalette
        Its colours, and the clustering space in which they are compared.
    method : {"floyd-steinberg", "ordered"}
    progress : callable, optional
        Called with the fraction of rows done.

    Returns
    -------
    list of int
    """
    if method not in DITHER_METHODS:
        raise ValueError(f"unknown dithering method {method!r}; choose one of {', '.join(DITHER_METHODS)}")
    fmt = _check_format(pixel_format)
    pixels, coverage = checked_bytes(layer.pixels, layer.width, layer.height, fmt, layer.coverage)
    width, height = layer.width, layer.height
    size, _, gray = FORMATS[fmt]
    clustering = space(palette.color_space, gray)
    encode = clustering.encoder()
    # Ties go to the colour that sorts first, as in the nearest mapping: search in that order.
    order = sorted(range(len(palette.colors)), key=palette.colors.__getitem__)
    centers = [encode(_pack(palette.colors[j])) for j in order]
    active = taking_part(pixels, pixel_format, coverage)
    channels = 1 if gray else 3
    points: dict[int, Point] = {}
    words: list[Point | None] = []
    for index in range(width * height):
        if not active[index]:
            words.append(None)
            continue
        offset = index * size
        color = int.from_bytes(pixels[offset : offset + channels], "little")
        point = points.get(color)
        if point is None:
            point = points[color] = encode(color)
        words.append(point)
    picture = _Picture(words, width, height, channels, clustering.name == "rgb")
    mapper = _floyd_steinberg if method == "floyd-steinberg" else _ordered
    labels = mapper(picture, centers, progress)
    to_palette = [*order, -1]  # label -1 stays -1
    return [to_palette[label] for label in labels]


def paint(pixels: bytes, pixel_format: str, palette: PurePalette, labels: Sequence[int]) -> bytes:
    """``pixels`` with the colour of every pixel whose label is not -1 replaced by
    ``palette.colors[label]``; the others keep their bytes, alpha is kept."""
    size, _, gray = FORMATS[_check_format(pixel_format)]
    channels = 1 if gray else 3
    out = bytearray(pixels)
    palette_bytes = [bytes(color) for color in palette.colors]
    for index, label in enumerate(labels):
        if label >= 0:
            offset = index * size
            out[offset : offset + channels] = palette_bytes[label]
    return bytes(out)


def _pack(color: tuple[int, ...]) -> int:
    return int.from_bytes(bytes(color), "little")


class _Nearest:
    """The exact nearest palette colour of a value, searched from a guess (the last colour chosen,
    near in an image): a colour ``j`` is at least ``d(guess, j) - d(v, guess)`` from ``v``, so the
    guess's neighbours are tried nearest first until that bound exceeds the best distance. Ties
    go to the lower index, as in :func:`.pure_kmeans.nearest_full`."""

    def __init__(self, centers: list[Point]) -> None:
        self.centers = centers
        self.neighbors = Neighbors(centers)

    def __call__(self, vx: float, vy: float, vz: float, guess: int) -> int:
        centers = self.centers
        cx, cy, cz = centers[guess]
        dx, dy, dz = vx - cx, vy - cy, vz - cz
        best = dx * dx + dy * dy + dz * dz
        own = math.sqrt(best)
        limit = own + own + MARGIN_SLACK
        label = guess
        distances, order = self.neighbors.of(guess)
        for j in order:
            if distances[j] > limit:
                break
            cx, cy, cz = centers[j]
            dx, dy, dz = vx - cx, vy - cy, vz - cz
            d = dx * dx + dy * dy + dz * dz
            if d < best or (d == best and j < label):
                best, label = d, j
                limit = own + math.sqrt(best) + MARGIN_SLACK
        return label


@dataclass(frozen=True)
class _Picture:
    """The pixels to dither, as points of the clustering space (None: takes no part).

    Attributes
    ----------
    points : list of Point or None
        Row by row.
    width, height : int
    channels : int
        3, or 1 for gray (points on one axis).
    clamp : bool
        Keep modified values in 0-255 (the ``rgb`` space's gamut box).
    """

    points: list[Point | None]
    width: int
    height: int
    channels: int
    clamp: bool


def _floyd_steinberg(
    picture: _Picture, centers: list[Point], progress: Callable[[float], None] | None
) -> list[int]:
    """Labels by error diffusion in raster order (-1 where a pixel takes no part).

    One loop with the errors of the row above and of this row in flat lists, three entries a
    pixel with one of padding on each side: the per-pixel cost is what bounds this engine.
    """
    points, width, height, clamp = picture.points, picture.width, picture.height, picture.clamp
    nearest = _Nearest(centers)
    labels = [-1] * (width * height)
    stride = 3 * (width + 2)
    above = [0.0] * stride
    current = [0.0] * stride
    guess = 0
    for y in range(height):
        above, current = current, above
        current[:] = [0.0] * stride
        row = y * width
        for x in range(width):
            point = points[row + x]
            e = 3 * (x + 1)  # this pixel's error slot; left e - 3, upper left/right e -/+ 3
            if point is None:
                continue  # neither receives nor spreads error: its slot stays 0
            vx = point[0] + current[e - 3] * (7 / 16)
            vx += above[e + 3] * (3 / 16)
            vx += above[e] * (5 / 16)
            vx += above[e - 3] * (1 / 16)
            vy = point[1] + current[e - 2] * (7 / 16)
            vy += above[e + 4] * (3 / 16)
            vy += above[e + 1] * (5 / 16)
            vy += above[e - 2] * (1 / 16)
            vz = point[2] + current[e - 1] * (7 / 16)
            vz += above[e + 5] * (3 / 16)
            vz += above[e + 2] * (5 / 16)
            vz += above[e - 1] * (1 / 16)
            if clamp:
                vx = min(max(vx, 0.0), 255.0)
                vy = min(max(vy, 0.0), 255.0)
                vz = min(max(vz, 0.0), 255.0)
            guess = nearest(vx, vy, vz, guess)
            labels[row + x] = guess
            cx, cy, cz = centers[guess]
            current[e] = vx - cx
            current[e + 1] = vy - cy
            current[e + 2] = vz - cz
        if progress is not None and y % 64 == 63:
            progress((y + 1) / height)
    return labels


def _ordered(picture: _Picture, centers: list[Point], progress: Callable[[float], None] | None) -> list[int]:
    """Labels by Bayer's thresholds times the local palette gap over sqrt(D) (-1 where a pixel
    takes no part); one search per distinct (colour, threshold) pair."""
    points, width, height, clamp = picture.points, picture.width, picture.height, picture.clamp
    channels = picture.channels
    nearest = _Nearest(centers)
    root = math.sqrt(channels)
    spreads = [nearest.neighbors.half_gap(j) * 2.0 / root for j in range(len(centers))]
    spreads = [0.0 if math.isinf(spread) else spread for spread in spreads]
    own: dict[Point, int] = {}
    cache: dict[tuple[Point, int], int] = {}
    labels = [-1] * (width * height)
    guess = 0
    for y in range(height):
        thresholds = THRESHOLDS[y % 8]
        phase = 8 * (y % 8)
        row = y * width
        for x in range(width):
            point = points[row + x]
            if point is None:
                continue
            key = (point, phase + x % 8)
            label = cache.get(key)
            if label is None:
                j = own.get(point)
                if j is None:
                    j = own[point] = guess = nearest(point[0], point[1], point[2], guess)
                offset = spreads[j] * thresholds[x % 8]
                vx = point[0] + offset
                vy, vz = (point[1] + offset, point[2] + offset) if channels == 3 else (0.0, 0.0)
                if clamp:
                    vx = min(max(vx, 0.0), 255.0)
                    vy = min(max(vy, 0.0), 255.0)
                    vz = min(max(vz, 0.0), 255.0)
                label = cache[key] = guess = nearest(vx, vy, vz, j)
            labels[row + x] = label
        if progress is not None and y % 64 == 63:
            progress((y + 1) / height)
    return labels
