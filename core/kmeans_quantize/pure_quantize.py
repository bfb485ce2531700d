"""K-means quantization of 8-bit pixel bytes in plain Python: the numpy-free engine.

For Python installs without numpy (GIMP 3 on Windows, macOS and Flatpak): it
imports nothing outside the standard library, this package's ``pure_*`` modules and
the numpy-free modules they share with the numpy engine (``stopping``,
``splitmerge_rounds``). It takes pixel bytes as GIMP gives them (``"R'G'B'A u8"``,
``"Y'A u8"``, ``"R'G'B' u8"``, ``"Y' u8"``) and follows :func:`kmeans_quantize.quantize`:

- pixels are packed in 32-bit words (byte slicing, no per-pixel Python) and
  counted in a list indexed by packed colour (a plain ``for`` loop: 2.5x as
  fast as :class:`collections.Counter` on a 4 MP photo); each distinct colour
  is converted to the clustering space once (:mod:`.pure_space`, the formulas
  of :mod:`.colorspace`);
- k-means++ seeds and first Lloyd iterations run on the colours merged in
  cells of 4 or 5 bits per channel (the coarsest with 20 cells a cluster; 6
  bits at large K), improved by split–merge
  moves (:mod:`.pure_splitmerge`) where they pay, then settled on cells of 5
  bits (when seeded on 4-bit ones) and of 6 bits (:mod:`.pure_cells`), each
  cell the exact mean of its colours; then Lloyd's iterations run on the
  exact colours, looking at a colour alone only where its 6-bit cell lies
  near a boundary between clusters (:class:`.pure_cells.CellAssigner`), for
  at most :data:`EXACT_MAX_ITER` iterations (fewer on many colours: :data:`EXACT_WORK`);
- the centres are rounded to 8-bit colours and every colour is mapped to the
  nearest (ties to the colour that sorts first, as in the numpy engine), and
  the pixels through the same list, turned into a colour-to-palette-index table.

Pixels with alpha 0 and pixels outside the selection take no part and keep
their bytes; alpha is copied unchanged. The random numbers come from
:class:`random.Random`, so a seed gives other starting centres than the numpy
engine's: the results are k-means solutions of the same histogram, of about
the same error, not the same pixels.
"""

from __future__ import annotations

import gc
import math
import random
import sys
from array import array
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from itertools import accumulate
from typing import NamedTuple

from .pure_cells import CellAssigner, Cells, cell_mask, cells_of
from .pure_kmeans import (
    BoundedPoints,
    Fit,
    PointAssigner,
    WeightedPoints,
    kmeans_plusplus,
    lloyd,
    squared_distance,
    weighted_pick,
)
from .pure_space import Point, Space, space
from .pure_splitmerge import split_merge
from .stopping import Stopping

__all__ = [
    "FORMATS",
    "PurePalette",
    "PureResult",
    "quantize_bytes",
    "apply_coverage",
    "checked_bytes",
    "taking_part",
]

#: Pixel formats: name -> (bytes per pixel, has alpha, gray). GIMP's babl names are accepted too.
FORMATS = {
    "RGBA": (4, True, False),
    "RGB": (3, False, False),
    "YA": (2, True, True),
    "Y": (1, False, True),
}
_BABL_NAMES = {"R'G'B'A u8": "RGBA", "R'G'B' u8": "RGB", "Y'A u8": "YA", "Y' u8": "Y"}

INITS = ("k-means++", "random")
MAX_COLORS = 65536
#: The passes over every pixel (counting colours, writing them back) report progress after each
#: this many pixels: about 0.2 s apart here, so that a 24 MP photo's bar moves during its seconds of
#: counting; a chunk costs one slice of the pixel array, nothing measurable.
PIXEL_CHUNK = 1 << 20
#: Bits per channel of the cells seeding may run on (the coarsest that are enough), and of the
#: cells the exact iterations use as bounds.
SEED_BITS = (4, 5)
BOUND_BITS = 6
#: Seeding runs on the coarsest seed cells that are at least this many per cluster; if even the
#: 5-bit ones are fewer, on the 6-bit ones. 4-bit cells at K = 16 on china_4mp (1,233 cells):
#: MSE 0.9999 of the numpy engine's instead of 1.0033 on its 7,722 5-bit cells, in 4.1 s of
#: CPU instead of 4.9 s. Measured in CIELAB at K = 256: flower.jpg seeded on its 3,909 5-bit cells
#: (15 a cluster) ended 2.6 % above the numpy engine's inertia, on its 16,098 6-bit cells
#: 0.03 % above; china.jpg (5,455 5-bit cells, 21 a cluster) ended within 0.1 %.
SEED_POINTS_PER_CLUSTER = 20
#: When split–merge moves are tried: initialization.SPLIT_MERGE_POINTS and SPLIT_MERGE_RADIUS.
#: (Not initialization.SPLIT_MERGE_MAX_CLUSTERS: that cap was measured for the numpy engine's
#: speed on small photos; this engine meets its time targets, and its K = 256 quality is
#: within 0.001 of its bound in benchmarks/results/pure_python.md.)
SPLIT_MERGE_POINTS = 24
SPLIT_MERGE_RADIUS = 0.5
#: Seeding runs on the colours themselves when there are at most this many (initialization.COARSE_POINTS).
COARSE_POINTS = 1 << 13

#: Iterations on the exact colours at most, after those on the cells converged. Each costs
#: about 0.3 s on a noisy 4 MP photo (0.9 M colours, a quarter of them in cells a boundary
#: crosses). Measured there (china_4mp, seed 0, MSE over the numpy engine's): K = 16, 1.0032
#: after 3 or 10 and 1.0032 after 30; K = 64, 1.0060 after 3, 1.0042 after 10, 1.0023 after 30.
EXACT_MAX_ITER = 10
#: Work allowed to the Lloyd iterations of one level, in points times iterations: a level of
#: many points runs at most ``LEVEL_WORK // len(points)`` iterations (at least 1). Small images
#: keep their iterations (up to max_iter on cells, EXACT_MAX_ITER on colours); large ones stop
#: early in Lloyd's slow tail. Measured on china_4mp (47,270 6-bit cells, 0.9 M colours, seed
#: 0, MSE over the numpy engine's), cell iterations capped / exact iterations -> MSE ratio:
#: K = 16, 78 / 10 -> 1.0032 and 45 / 2 -> 1.0033; K = 64, 78 / 10 -> 1.0042, 45 / 2 -> 1.0077,
#: 30 / 2 -> 1.0119; K = 256, 39 / 10 -> 1.0118, 30 / 2 -> 1.0202 (target: 1.03). LEVEL_WORK
#: went from 2 M (42 iterations on those cells) to 1 M (21), for the GIMP filter run's targets:
#: there rgb K = 16 0.9999 -> 1.0012 and 0.15-0.35 s less CPU, K = 64 1.0082 -> 1.0139 and
#: 0.5 s less, K = 256 1.0200 -> 1.0208; lab 1.0077, 0.9992, 1.0094. The sample photos
#: (0.3 MP, under 1 M points x iterations mostly) kept their pixels but for china.jpg K = 64
#: and 256 and flower.jpg K = 64 in rgb, whose MSE ratios moved by at most 0.0001.
LEVEL_WORK = 1_000_000
#: Work allowed to the Lloyd iterations on the 6-bit cells when they start from a converged run
#: on the 5-bit cells that itself started from the 4-bit ones (K small enough to seed on 4-bit
#: cells): the middle level leaves the 6-bit cells little to do, at a sixth of their cost per
#: iteration. china_4mp rgb K = 16 (GIMP 3.0's Python, seed 0): 4-bit then 6-bit cells (21
#: iterations) MSE 1.0012 of the numpy engine's in 2.51 s; 4, 5 (16 iterations, converged)
#: then 6 bits, 21 iterations 1.0006 in 2.60 s, 10 iterations 1.0016 in 2.41 s, 5 iterations
#: 1.0021 in 2.29 s, 2 iterations 1.0026 in 2.28 s. china.jpg K = 16: 1.0042 -> 1.0025
#: (5 iterations); china_24mp K = 16: 0.9958 -> 0.9951. At K = 64 and 256, seeded on the
#: 5-bit cells, the 6-bit cells keep LEVEL_WORK: 5 iterations there cost 1.0139 -> 1.0178
#: and 1.0208 -> 1.0257.
SETTLED_LEVEL_WORK = 250_000
EXACT_WORK = 2_000_000

ProgressCallback = Callable[[str, float], None]


@dataclass(frozen=True)
class PurePalette:
    """The colours an image was reduced to, most frequent first.

    Attributes
    ----------
    colors : tuple of tuples of int
        ``(r, g, b)`` for RGB images, ``(y,)`` for gray ones, 0-255.
    counts : tuple of int
        Pixels of each colour.
    color_space : str
    """

    colors: tuple[tuple[int, ...], ...]
    counts: tuple[int, ...]
    color_space: str

    def __len__(self) -> int:
        return len(self.colors)


@dataclass(frozen=True)
class PureResult:
    """What :func:`quantize_bytes` returns.

    Attributes
    ----------
    pixels : bytes
        The quantized pixels, in the input's format.
    palette : PurePalette
    labels : array of int or None
        Palette index of every pixel, -1 where it was not quantized (alpha 0 or
        outside the selection); None unless asked for.
    inertia : float
        Weighted sum of squared distances of the colours to their k-means
        centres, in the clustering space (0 when no fit was needed).
    n_iter : int
        Iterations of the final k-means on the exact colours.
    converged : bool
    """

    pixels: bytes
    palette: PurePalette
    labels: array[int] | None
    inertia: float
    n_iter: int
    converged: bool


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while the engine runs (on again after, if it was on).

    The engine makes millions of tuples and lists and no reference cycles; the collector's
    passes over them took 0.3-0.5 s of 4.7 s on a 4 MP photo at K = 16 (CPython 3.13).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check_format(pixel_format: str) -> str:
    name = _BABL_NAMES.get(pixel_format, pixel_format)
    if name not in FORMATS:
        known = ", ".join([*FORMATS, *_BABL_NAMES])
        raise ValueError(f"unknown pixel_format {pixel_format!r}; choose one of {known}")
    return name


def _check_int(name: str, value: object, low: int, high: float = math.inf) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


@dataclass(frozen=True)
class _Pixels:
    """The pixels as table indices, and which of them take part.

    Attributes
    ----------
    words : array of int
        Per pixel its packed colour (``r | g << 8 | b << 16``, or the gray
        value), or ``unselected`` where the pixel takes no part.
    keep : bytes or None
        Per pixel 0xFF where it takes part, 0x00 where not (alpha 0 or
        coverage 0); None when every pixel takes part.
    unselected : int
        One more than the largest packed colour.
    """

    words: array[int]
    keep: bytes | None
    unselected: int


_NONZERO = bytes([0] + [0xFF] * 255)
_ZERO = bytes([0xFF] + [0] * 255)


def _blend(ones: bytes | bytearray, zeros: bytes | bytearray, mask: bytes) -> bytes:
    """Bytewise ``ones`` where ``mask`` is 0xFF and ``zeros`` where it is 0x00, as big integers."""
    size = len(mask)
    full = (1 << (8 * size)) - 1
    select = int.from_bytes(mask, "little")
    blended = int.from_bytes(ones, "little") & select | int.from_bytes(zeros, "little") & (full ^ select)
    return blended.to_bytes(size, "little")


def taking_part(pixels: bytes, pixel_format: str, coverage: bytes | None = None) -> bytes:
    """Per pixel 0xFF where it takes part (alpha and coverage not 0), 0x00 where it does not:
    the rule of :func:`quantize_bytes`, :mod:`.pure_dither` and the GIMP plug-in."""
    size, has_alpha, _ = FORMATS[_check_format(pixel_format)]
    n_pixels = len(pixels) // size
    keep = pixels[size - 1 :: size].translate(_NONZERO) if has_alpha else b"\xff" * n_pixels
    if coverage is not None:
        keep = _blend(keep, bytes(n_pixels), coverage.translate(_NONZERO))
    return keep


def _read(data: bytes, fmt: str, n_pixels: int, coverage: bytes | None) -> _Pixels:
    size, has_alpha, gray = FORMATS[fmt]
    n_channels = 1 if gray else 3
    packed = bytearray(4 * n_pixels)
    for channel in range(n_channels):
        packed[channel::4] = data[channel::size]
    keep = taking_part(data, fmt, coverage) if has_alpha or coverage is not None else None
    if keep is not None and b"\x00" not in keep:
        keep = None
    unselected = 1 << (8 * n_channels)
    if keep is not None:
        # Pixels that take no part: colour bytes 0, and a 1 in the byte above the colour.
        for channel in range(n_channels):
            packed[channel::4] = _blend(packed[channel::4], bytes(n_pixels), keep)
        packed[n_channels::4] = keep.translate(bytes([1] + [0] * 255))
    words = array("I")
    words.frombytes(packed)
    if sys.byteorder == "big":
        words.byteswap()
    return _Pixels(words, keep, unselected)


def _write(
    pixels: _Pixels,
    table: list[int],
    palette: list[int],
    data: bytes,
    fmt: str,
    progress: Callable[[float], None],
) -> bytes:
    """The pixels mapped through ``table`` (packed colour -> index in ``palette``), in format ``fmt``.

    Pixels that take no part keep their bytes; alpha is copied from ``data``. ``progress`` gets
    the fraction of pixels mapped, every :data:`PIXEL_CHUNK` pixels. ``table`` must hold a
    valid index at ``pixels.unselected`` too (its pixels are put back afterwards).

    With at most 256 palette colours the pixels are mapped to one index byte each, and the
    channels made from those by bytes.translate: ``bytes(map(...))`` of small ints takes half
    the time of filling an ``array("I")`` with packed colours (4 MP: 0.11 s instead of 0.22 s).
    """
    n_pixels = len(pixels.words)
    size, _, gray = FORMATS[fmt]
    n_channels = 1 if gray else 3
    if len(palette) <= 256:
        index = bytearray()
        for first in range(0, n_pixels, PIXEL_CHUNK):
            index += bytes(map(table.__getitem__, pixels.words[first : first + PIXEL_CHUNK]))
            progress(min(1.0, (first + PIXEL_CHUNK) / n_pixels))
        planes = [
            bytes(index.translate(bytes(c >> (8 * channel) & 0xFF for c in palette).ljust(256, b"\0")))
            for channel in range(n_channels)
        ]
    else:
        words = array("I")
        for first in range(0, n_pixels, PIXEL_CHUNK):
            chunk = pixels.words[first : first + PIXEL_CHUNK]
            words.extend(map(palette.__getitem__, map(table.__getitem__, chunk)))
            progress(min(1.0, (first + PIXEL_CHUNK) / n_pixels))
        if sys.byteorder == "big":
            words.byteswap()
        packed = words.tobytes()
        planes = [packed[channel::4] for channel in range(n_channels)]
    out = bytearray(data)
    for channel, plane in enumerate(planes):
        out[channel::size] = plane if pixels.keep is None else _blend(plane, data[channel::size], pixels.keep)
    return bytes(out)


def _color_tuple(color: int, gray: bool) -> tuple[int, ...]:
    return (color,) if gray else (color & 0xFF, color >> 8 & 0xFF, color >> 16)


def _pack(color: Sequence[int], gray: bool, name: str) -> int:
    channels = 1 if gray else 3
    if len(color) != channels or not all(isinstance(v, int) and 0 <= v <= 255 for v in color):
        raise ValueError(
            f"{name} must hold {channels} integer(s) 0-255 per colour for this image, got {color!r}"
        )
    return color[0] if gray else color[0] | color[1] << 8 | color[2] << 16


def _sort_key(color: int) -> int:
    """Lexicographic (r, g, b) order of a packed colour, as np.unique and np.lexsort give."""
    return (color & 0xFF) << 16 | (color & 0xFF00) | color >> 16


def _random_centers(
    data: WeightedPoints, n_clusters: int, rng: random.Random, fixed: list[Point]
) -> list[Point]:
    """``n_clusters`` distinct points drawn at random, weighted (fixed ones first, not drawn again)."""
    taken = set(fixed)
    weights = [0.0 if p in taken else w for p, w in zip(data.points, data.weights, strict=True)]
    centers = list(fixed)
    while len(centers) < n_clusters:
        cumulative = list(accumulate(weights))
        index = weighted_pick(cumulative, rng.random() * cumulative[-1])
        centers.append(data.points[index])
        weights[index] = 0.0
    return centers


def _moves_pay(level: WeightedPoints, fit: Fit, cells: Cells | None) -> bool:
    """Whether split–merge moves are tried on ``level`` (the rule of initialization.initial_centers).

    At least :data:`SPLIT_MERGE_POINTS` points per cluster, and, when the points are cells,
    clusters whose RMS radius is at least :data:`SPLIT_MERGE_RADIUS` cell widths (a cell of
    width ``s`` reaches ``s * sqrt(3) / 2`` from its centre: the width is taken from the
    cells' mean radius that way).
    """
    if len(level) < SPLIT_MERGE_POINTS * len(fit.centers):
        return False
    if cells is None:
        return True
    width = 2.0 * sum(cells.radius) / len(cells.radius) / math.sqrt(3.0)
    return fit.inertia / sum(level.weights) >= (SPLIT_MERGE_RADIUS * width) ** 2


@dataclass(frozen=True)
class _Settings:
    """What :func:`_fit` is asked for, checked by :func:`quantize_bytes`.

    Attributes
    ----------
    n_colors : int
    clustering : Space
    init : str or list of int
        "k-means++", "random", or the packed starting colours.
    fixed : list of int
        Packed fixed colours.
    rng : random.Random
    stop : Stopping
        The caller's ``max_iter`` and ``tol``; each level runs within them.
    """

    n_colors: int
    clustering: Space
    init: str | list[int]
    fixed: list[int]
    rng: random.Random
    stop: Stopping


#: Shares of the fit's progress done after seeding, the first Lloyd run, split-merge moves and the
#: Lloyd run on the fine cells; the exact iterations report the rest. Each report is also where
#: the GIMP dialog's preview learns that a setting changed, so there is one after every stage.
_FIT_STAGES = (0.1, 0.25, 0.35, 0.5)


def _fit(
    colors: list[int], counts: list[int], settings: _Settings, progress: Callable[[float], None]
) -> tuple[Fit, CellAssigner]:
    """k-means of the weighted colours: seeded and settled on cells, then exact.

    Many colours (more than :data:`COARSE_POINTS`) are seeded on cells of
    :data:`SEED_BITS` bits per channel (the coarsest enough), settled there, on the 5-bit cells
    if seeded on 4-bit ones, and again on cells of :data:`BOUND_BITS` bits; each level's labels
    are the next one's guesses.
    The exact iterations then start close to their end.
    """
    n_colors, clustering, init, fixed = settings.n_colors, settings.clustering, settings.init, settings.fixed
    rng, stop = settings.rng, settings.stop
    encode = clustering.encoder()
    data = WeightedPoints.of(clustering.encode_all(colors), counts)
    fine = cells_of(data, colors, BOUND_BITS)
    progress(_FIT_STAGES[0] / 2)  # building the cells takes most of a second on a 4 MP photo
    fixed_points = [encode(c) for c in fixed]
    n_fixed = len(fixed)
    guess = None
    means = None
    if isinstance(init, list):
        centers = fixed_points + [encode(c) for c in init]
    else:
        enough = SEED_POINTS_PER_CLUSTER * n_colors
        seed_bits = next(
            (b for b in SEED_BITS[:-1] if len(set(map(cell_mask(b).__and__, fine.keys))) >= enough),
            SEED_BITS[-1],
        )
        coarse = fine.coarse
        seed = _coarser(fine, seed_bits)
        middle = None
        if len(data) <= COARSE_POINTS:
            levels = [data]
        elif len(seed.cells.coarse) >= enough:
            levels = [seed.cells.coarse, coarse]
            if seed_bits < SEED_BITS[-1]:
                middle = _coarser(fine, SEED_BITS[-1])
        else:
            levels = [coarse]
        if init == "k-means++":
            seeds = kmeans_plusplus(levels[0], n_colors, rng, fixed_points)
        else:
            seeds = _random_centers(levels[0], n_colors, rng, fixed_points)
        progress(_FIT_STAGES[0])
        first_stop = _within(stop, len(levels[0]), LEVEL_WORK)
        fit = lloyd(PointAssigner(levels[0]), seeds, stop=first_stop, n_fixed=n_fixed)
        progress(_FIT_STAGES[1])
        if _moves_pay(
            levels[0],
            fit,
            seed.cells if levels[0] is seed.cells.coarse else fine if levels[0] is coarse else None,
        ):
            fit = split_merge(levels[0], fit, n_fixed=n_fixed, stop=first_stop)
        progress(_FIT_STAGES[2])
        if len(levels) == 2:
            fit, means = _settle(fit, seed, middle, fine, settings)
        if levels[-1] is coarse:
            guess = fit.labels
        centers = fit.centers
        progress(_FIT_STAGES[3])
    assigner = CellAssigner(fine, guess, means)
    exact = replace(stop, max_iter=min(stop.max_iter, EXACT_MAX_ITER))
    done = _FIT_STAGES[-1]
    fit = lloyd(
        assigner,
        centers,
        stop=_within(exact, len(data), EXACT_WORK),
        n_fixed=n_fixed,
        progress=lambda fraction: progress(done + (1.0 - done) * fraction),
        labels=False,  # _round takes them from the assigner, after the centres are rounded
    )
    return fit, assigner


class _Level(NamedTuple):
    """Cells of ``bits`` bits per channel made of the fine cells, and the fine cells in the order
    of the cells they lie in (``cells.members(j)`` are positions in ``order``)."""

    cells: Cells
    order: list[int]
    bits: int


def _coarser(fine: Cells, bits: int) -> _Level:
    """The cells of ``bits`` bits made of the ``fine`` cells."""
    keys = list(map(cell_mask(bits).__and__, fine.keys))
    order = sorted(range(len(keys)), key=keys.__getitem__)
    coarse = fine.coarse
    cells = cells_of(
        WeightedPoints(
            [coarse.points[j] for j in order],
            [coarse.weights[j] for j in order],
            [coarse.sums[j] for j in order],
        ),
        [keys[j] for j in order],
        bits,
    )
    return _Level(cells, order, bits)


def _settle(
    fit: Fit, seed: _Level, middle: _Level | None, fine: Cells, settings: _Settings
) -> tuple[Fit, BoundedPoints]:
    """``fit`` of the ``seed`` cells settled on the 5-bit ``middle`` cells (if any), then on the
    ``fine`` cells' means; each level's points start from the label of the cell they lie in.

    Returns the fit on the fine cells' means, and their labels and bounds for its centres,
    where the exact iterations start.
    """
    n_fixed = len(settings.fixed)
    fine_work = LEVEL_WORK
    if middle is not None:
        seed_index = {key: cell for cell, key in enumerate(seed.cells.keys)}
        mask = cell_mask(seed.bits)
        guess = [fit.labels[seed_index[key & mask]] for key in middle.cells.keys]
        fit = lloyd(
            PointAssigner(middle.cells.coarse, guess),
            fit.centers,
            stop=_within(settings.stop, len(middle.cells.coarse), LEVEL_WORK),
            n_fixed=n_fixed,
        )
        seed = middle
        if fit.converged:
            fine_work = SETTLED_LEVEL_WORK
    first = [0] * len(seed.order)
    for cell, label in enumerate(fit.labels):
        for position in seed.cells.members(cell):
            first[seed.order[position]] = label
    level = PointAssigner(fine.coarse, first)
    stop = _within(settings.stop, len(fine.coarse), fine_work)
    return lloyd(level, fit.centers, stop=stop, n_fixed=n_fixed), level.bounded


def _within(stop: Stopping, n_points: int, work: int) -> Stopping:
    """``stop`` for a Lloyd run on ``n_points`` points: ``stop.max_iter`` iterations, or fewer
    within ``work`` points x iterations."""
    return replace(stop, max_iter=min(stop.max_iter, max(1, work // n_points)))


def quantize_bytes(  # noqa: PLR0913 -- the keywords of quantize(), for the plug-in without numpy
    pixels: bytes | bytearray | memoryview,
    width: int,
    height: int,
    pixel_format: str,
    n_colors: int,
    *,
    color_space: str = "rgb",
    init: str | Sequence[Sequence[int]] = "k-means++",
    max_iter: int = 300,
    tol: float = 0.1,
    seed: int | None = None,
    coverage: bytes | bytearray | memoryview | None = None,
    fixed_colors: Sequence[Sequence[int]] = (),
    labels: bool = False,
    progress: ProgressCallback | None = None,
) -> PureResult:
    """Reduce 8-bit pixels to at most ``n_colors`` colours with k-means, without numpy.

    Parameters
    ----------
    pixels : bytes-like
        ``width * height`` pixels, rows top to bottom, channels interleaved.
    width, height : int
    pixel_format : {"RGBA", "RGB", "YA", "Y"}
        Or GIMP's names ``"R'G'B'A u8"``, ``"R'G'B' u8"``, ``"Y'A u8"``, ``"Y' u8"``.
    n_colors : int
        K, 1 to 65536.
    color_space : {"rgb", "lab", "oklab"}
        As for :func:`kmeans_quantize.quantize`.
    init : {"k-means++", "random"} or sequence of colours
        Seeding on the colours (merged in cells on large images), or
        ``n_colors - len(fixed_colors)`` starting colours, each a tuple of
        0-255 channel values (1 for gray, 3 for RGB).
    max_iter, tol
        As for :func:`kmeans_quantize.quantize`.
    seed : int >= 0 or None
        Seed of :class:`random.Random`; the same input, arguments and seed
        give the same bytes. None draws fresh entropy.
    coverage : bytes-like, optional
        One byte per pixel (GIMP's selection as ``"Y u8"``): pixels with
        coverage 0 are neither fitted nor changed, all others are fitted
        alike (the numpy plug-in's ``mask = coverage > 0``). See
        :func:`apply_coverage` for the feathered edge of the new layer.
    fixed_colors : sequence of colours
        Colours that are in the palette whatever the image holds, unmoved.
    labels : bool
        Also return every pixel's palette index (one more pass over the pixels).
    progress : callable, optional
        ``progress(stage, fraction)``; stages "histogram", "fit", "mapping".

    Returns
    -------
    PureResult

    Raises
    ------
    TypeError, ValueError
        With a message naming what is wrong with the input.
    """
    fmt = _check_format(pixel_format)
    data, cover = checked_bytes(pixels, width, height, fmt, coverage)
    n_colors = _check_int("n_colors", n_colors, 1, MAX_COLORS)
    max_iter = _check_int("max_iter", max_iter, 1)
    if seed is not None:
        seed = _check_int("seed", seed, 0)
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0:
        raise ValueError(f"tol must be a number >= 0, got {tol!r}")
    gray = FORMATS[fmt][2]
    clustering = space(color_space, gray)
    start, fixed = _starting_colors(init, fixed_colors, n_colors, gray)

    def report(stage: str, fraction: float) -> None:
        if progress is not None:
            progress(stage, fraction)

    stop = Stopping(max_iter, float(tol))
    settings = _Settings(n_colors, clustering, start, fixed, random.Random(seed), stop)
    with _gc_paused():
        return _quantize(data, fmt, cover, settings, labels, report)


def checked_bytes(
    pixels: bytes | bytearray | memoryview,
    width: int,
    height: int,
    fmt: str,
    coverage: bytes | bytearray | memoryview | None,
) -> tuple[bytes, bytes | None]:
    """``pixels`` and ``coverage`` as bytes, once their sizes are checked against ``width`` x
    ``height`` pixels in the (checked) format ``fmt``."""
    width = _check_int("width", width, 1)
    height = _check_int("height", height, 1)
    data = bytes(pixels)
    n_pixels = width * height
    size = FORMATS[fmt][0]
    if len(data) != n_pixels * size:
        raise ValueError(
            f"pixels hold {len(data)} bytes; {width}x{height} {fmt} pixels need {n_pixels * size}"
        )
    cover = None if coverage is None else bytes(coverage)
    if cover is not None and len(cover) != n_pixels:
        raise ValueError(f"coverage holds {len(cover)} bytes; {width}x{height} pixels need {n_pixels}")
    return data, cover


def _starting_colors(
    init: str | Sequence[Sequence[int]], fixed_colors: Sequence[Sequence[int]], n_colors: int, gray: bool
) -> tuple[str | list[int], list[int]]:
    """The seeding named by ``init``, or its colours packed; and the fixed colours packed, checked
    against each other and against ``n_colors``."""
    fixed = [_pack(c, gray, "fixed_colors") for c in fixed_colors]
    if len(set(fixed)) != len(fixed):
        raise ValueError("fixed_colors contains the same colour twice")
    if len(fixed) > n_colors:
        raise ValueError(f"{len(fixed)} fixed colours do not fit in a palette of n_colors={n_colors}")
    if isinstance(init, str):
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; choose 'k-means++', 'random' or a list of colours")
        return init, fixed
    start = [_pack(c, gray, "init") for c in init]
    if len(start) != n_colors - len(fixed):
        raise ValueError(f"init must hold n_colors - len(fixed_colors) = {n_colors - len(fixed)} colours")
    return start, fixed


def _quantize(
    data: bytes, fmt: str, cover: bytes | None, settings: _Settings, labels: bool, report: ProgressCallback
) -> PureResult:
    """The work of :func:`quantize_bytes` on checked arguments.

    Its millions of objects die when it returns, before the collector is on again: freed after
    :func:`_gc_paused` ended, they were first traversed by a collection of the youngest
    generation, 0.12 s of a 4 MP photo's run.
    """
    size, _, gray = FORMATS[fmt]
    n_pixels = len(data) // size
    n_colors, clustering, fixed = settings.n_colors, settings.clustering, settings.fixed
    report("histogram", 0.0)
    read = _read(data, fmt, n_pixels, cover)
    table = [0] * (read.unselected + 1)
    # The colours present, in the order they first appear: noting them in the loop costs less
    # than a compress over the 16 M entries of the table after it (0.67 s instead of 0.82 s
    # on a 4 MP photo), which was twice as fast as set(words).
    present: list[int] = []
    note = present.append
    words = read.words
    for first in range(0, len(words), PIXEL_CHUNK):
        for word in words[first : first + PIXEL_CHUNK]:
            count = table[word]
            if count:
                table[word] = count + 1
            else:
                table[word] = 1
                note(word)
        report("histogram", 0.9 * min(1.0, (first + PIXEL_CHUNK) / len(words)))
    if table[read.unselected]:
        present.remove(read.unselected)
    if not present:
        raise ValueError("no pixel left to fit: the coverage and/or the alpha channel exclude every pixel")
    # Sorted by fine cell, so that the colours of a cell are adjacent (pure_cells.cells_of).
    colors = sorted(present, key=cell_mask(BOUND_BITS).__and__)
    counts = list(map(table.__getitem__, colors))
    report("histogram", 1.0)

    # Sorted only when it may fit in the palette: sorting a 4 MP photo's 0.9 M colours took 0.4 s.
    own_and_fixed = sorted(set(present).union(fixed), key=_sort_key) if len(present) <= n_colors else None
    if own_and_fixed is not None and len(own_and_fixed) <= n_colors:
        # Few colours: the palette is the image's own colours (and the fixed ones).
        palette_colors = own_and_fixed
        position = {c: i for i, c in enumerate(palette_colors)}
        color_labels = list(map(position.__getitem__, colors))
        inertia, n_iter, converged = 0.0, 0, True
        totals = None
    else:
        fit, assigner = _fit(colors, counts, settings, lambda fraction: report("fit", fraction))
        inertia, n_iter, converged = fit.inertia, fit.n_iter, fit.converged
        report("mapping", 0.0)
        palette_colors, color_labels, totals = _round(fit, assigner, clustering, fixed)
    if totals is None:
        totals = [0] * len(palette_colors)
        for label, n in zip(color_labels, counts, strict=True):
            totals[label] += n
    palette, new_index = _finish(palette_colors, totals, fixed, gray, clustering.name)

    deque(map(table.__setitem__, colors, color_labels), maxlen=0)
    table[read.unselected] = 0  # any index: those pixels keep their bytes
    out = _write(
        read, table, palette_colors, data, fmt, lambda fraction: report("mapping", 0.5 + 0.4 * fraction)
    )
    result_labels = None
    if labels:
        deque(map(table.__setitem__, colors, map(new_index.__getitem__, color_labels)), maxlen=0)
        table[read.unselected] = -1
        result_labels = array("i", map(table.__getitem__, read.words))
    report("mapping", 1.0)
    return PureResult(out, palette, result_labels, inertia, n_iter, converged)


def _round(
    fit: Fit, assigner: CellAssigner, clustering: Space, fixed: list[int]
) -> tuple[list[int], list[int], list[int]]:
    """The fitted centres rounded to distinct colours (sorted), every colour's nearest, and the
    pixels of each: the assigner's totals, which it keeps for its means (a loop over the
    colours' counts took 0.035 s on a 4 MP photo).

    As in quantize._fit: ties go to the colour that sorts first, so the
    centres are put in that order before the exact search; equal rounded
    colours are adjacent and merge.
    """
    rounded = [clustering.decode(c) for c in fit.centers]
    rounded[: len(fixed)] = fixed  # exactly as given, whatever the space's rounding
    order = sorted(range(len(rounded)), key=lambda j: _sort_key(rounded[j]))
    rank = [0] * len(order)
    for position, j in enumerate(order):
        rank[j] = position
    encode = clustering.encoder()
    targets = [encode(rounded[j]) for j in order]
    old = [fit.centers[j] for j in order]
    assigner.renumber(rank)
    shifts = [math.sqrt(squared_distance(t, c)) for t, c in zip(targets, old, strict=True)]
    assigner.update(targets, shifts)
    distinct = sorted(set(rounded), key=_sort_key)
    index_of = {c: i for i, c in enumerate(distinct)}
    to_distinct = [index_of[rounded[j]] for j in order]
    totals = [0] * len(distinct)
    for j, total in zip(to_distinct, assigner.totals, strict=True):
        totals[j] += int(total)
    return distinct, list(map(to_distinct.__getitem__, assigner.point_labels())), totals


def _finish(
    palette_colors: list[int], totals: list[int], fixed: list[int], gray: bool, name: str
) -> tuple[PurePalette, list[int]]:
    """The palette sorted by count (``totals``: pixels of each colour; descending, stable),
    unused colours dropped unless fixed.

    Returns it with the new index of every entry of ``palette_colors`` (-1: dropped).
    """
    kept = set(fixed)
    order = sorted(range(len(palette_colors)), key=lambda j: -totals[j])
    order = [j for j in order if totals[j] > 0 or palette_colors[j] in kept]
    new_index = [-1] * len(palette_colors)
    for position, j in enumerate(order):
        new_index[j] = position
    palette = PurePalette(
        tuple(_color_tuple(palette_colors[j], gray) for j in order), tuple(totals[j] for j in order), name
    )
    return palette, new_index


def apply_coverage(pixels: bytes, coverage: bytes, pixel_format: str) -> bytes:
    """The new layer's pixels, as the numpy plug-in makes them: alpha scaled by the coverage.

    Alpha becomes ``round(alpha * coverage / 255)``; where the coverage is 0
    every channel is 0 (transparent black). ``pixel_format`` must have alpha.
    """
    fmt = _check_format(pixel_format)
    size, has_alpha, _ = FORMATS[fmt]
    if not has_alpha:
        raise ValueError(f"apply_coverage needs a format with alpha, got {pixel_format!r}")
    n_pixels = len(coverage)
    if len(pixels) != n_pixels * size:
        raise ValueError(f"pixels hold {len(pixels)} bytes; {n_pixels} {fmt} pixels need {n_pixels * size}")
    # round(a * c / 255) for every (a, c), indexed by a | c << 8; a * c / 255 is never exactly
    # halfway between two integers (2 a c = 255 (2 n + 1) has no integer solution).
    table = bytes((a * c * 2 + 255) // 510 for c in range(256) for a in range(256))
    out = bytearray(pixels)
    pairs = bytearray(2 * n_pixels)
    pairs[0::2] = pixels[size - 1 :: size]
    pairs[1::2] = coverage
    keys = array("H")
    keys.frombytes(pairs)
    if sys.byteorder == "big":
        keys.byteswap()
    out[size - 1 :: size] = bytes(map(table.__getitem__, keys))
    keep = coverage.translate(bytes([0] + [255] * 255))
    mask = bytearray(len(pixels))
    for channel in range(size):
        mask[channel::size] = keep
    return (int.from_bytes(out, "little") & int.from_bytes(mask, "little")).to_bytes(len(out), "little")
