"""The numpy-free engine (``kmeans_quantize.pure_quantize``) against the numpy engine and libimagequant.

For each photo and K, in this process, one run each (no repeats: the pure-Python runs take
seconds to minutes), no dithering, seed 0:

- ``rgb``: ``quantize(image, K, seed=0)`` (numpy) and ``quantize_bytes(image.tobytes(), W, H,
  "RGB", K, seed=0)`` (numpy-free): MSE of each, their ratio, wall times and their ratio; and
  libimagequant's MSE (``bench_peers.libimagequant``);
- ``lab``: the same with ``color_space="lab"``: mean CIEDE2000 of each and their ratio, times.

The photos are those of ``bench_peers.py`` (loaded through its functions: scikit-learn and
scikit-image samples, two 4K+ wallpapers from Debian packages, and china.jpg upscaled with
noise to 12 and 24 MP), plus ``china_4mp``: china.jpg upscaled the same way to 4 MP. The
targets of issue 11 are checked in the last columns: MSE ratio <= 1.03 and below
libimagequant's, ΔE2000 ratio <= 1.03; at 4 MP (china_4mp) K = 16 / 64 / 256 within 3 / 6 /
20 s, at 24 MP K = 16 within 20 s (numpy-free rgb times).

Run from the repository root (the markdown report is rewritten after every image)::

    python benchmarks/bench_pure_python.py                     # everything: hours on 2 cores
    python benchmarks/bench_pure_python.py --images china.jpg china_4mp -k 16 64
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from benchlib.data import IMAGES as PEER_IMAGES
from benchlib.data import SMOKE_NAME, LoadedImage, RGBImage, describe_photo_like, frame_size, photo_like
from benchlib.measure import delta_e_sample, load_average, machine_facts
from benchlib.peers import libimagequant
from benchlib.report import write_atomic
from kmeans_quantize import quantize
from kmeans_quantize.metrics import mean_delta_e_2000, mse
from kmeans_quantize.pure_quantize import quantize_bytes
from sklearn.datasets import load_sample_image

HERE = Path(__file__).resolve().parent
SEED = 0
RATIO_TARGET = 1.03
FOUR_MP = "china_4mp"
#: Seconds allowed to the numpy-free rgb run: (image, K) -> limit (issue 11).
TIME_TARGETS = {(FOUR_MP, 16): 3.0, (FOUR_MP, 64): 6.0, (FOUR_MP, 256): 20.0, ("china_24mp", 16): 20.0}
#: On images of more than this many megapixels only these K run (the pure-Python K = 256 takes minutes).
LARGE_MP = 10.0
LARGE_KS = (16,)


def _four_mp() -> tuple[RGBImage, str]:
    width, height = frame_size(4.0)
    return photo_like(load_sample_image("china.jpg"), width, height), describe_photo_like(
        "china.jpg", width, height
    )


IMAGES: dict[str, Callable[[], tuple[RGBImage, str]]] = {
    **{name: load for name, load in PEER_IMAGES.items() if name != SMOKE_NAME},
    FOUR_MP: _four_mp,
}


@dataclass
class Cell:
    """One image, K and colour space: both engines' times and errors."""

    image: str
    k: int
    space: str
    numpy_seconds: float = 0.0
    pure_seconds: float = 0.0
    numpy_error: float = 0.0
    pure_error: float = 0.0
    imagequant_error: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def error_ratio(self) -> float:
        return self.pure_error / self.numpy_error

    @property
    def time_ratio(self) -> float:
        return self.pure_seconds / self.numpy_seconds


def timed(run: Callable[[], RGBImage]) -> tuple[RGBImage, float]:
    start = time.perf_counter()
    result = run()
    return result, time.perf_counter() - start


def pure(image: RGBImage, k: int, space: str) -> RGBImage:
    height, width, _ = image.shape
    result = quantize_bytes(image.tobytes(), width, height, "RGB", k, color_space=space, seed=SEED)
    return np.frombuffer(result.pixels, dtype=np.uint8).reshape(image.shape)


def error_of(space: str, image: LoadedImage, sample: np.ndarray | None) -> Callable[[RGBImage], float]:
    """MSE for rgb; mean CIEDE2000 (on the bench_peers sample of large images) for lab."""
    if space == "rgb":
        return functools.partial(mse, image.pixels)

    def delta_e(quantized: RGBImage) -> float:
        if sample is None:
            return mean_delta_e_2000(image.pixels, quantized)
        pick = functools.partial(np.take, indices=sample, axis=0)
        return mean_delta_e_2000(
            pick(image.pixels.reshape(-1, 3))[np.newaxis], pick(quantized.reshape(-1, 3))[np.newaxis]
        )

    return delta_e


def bench(image: LoadedImage, k: int, space: str) -> Cell:
    cell = Cell(image.name, k, space)
    error = error_of(space, image, delta_e_sample(image))
    reference, cell.numpy_seconds = timed(
        lambda: quantize(image.pixels, k, color_space=space, seed=SEED).image
    )
    cell.numpy_error = error(reference)
    ours, cell.pure_seconds = timed(lambda: pure(image.pixels, k, space))
    cell.pure_error = error(ours)
    if len({tuple(c) for c in ours.reshape(-1, 3).tolist()}) > k:
        cell.notes.append(f"more than {k} colours")
    if space == "rgb":
        cell.imagequant_error = error(libimagequant(image.pixels, k))
    return cell


def verdicts(cell: Cell) -> str:
    parts = [f"ratio {'≤' if cell.error_ratio <= RATIO_TARGET else '>'} {RATIO_TARGET}"]
    if cell.imagequant_error is not None:
        parts.append("below liq" if cell.pure_error < cell.imagequant_error else "**not below liq**")
    limit = TIME_TARGETS.get((cell.image, cell.k)) if cell.space == "rgb" else None
    if limit is not None:
        met = cell.pure_seconds <= limit
        parts.append(f"{'≤' if met else '**>'} {limit:g} s{'' if met else '**'}")
    if cell.error_ratio > RATIO_TARGET:
        parts[0] = f"**{parts[0]}**"
    return ", ".join(parts + cell.notes)


def report(cells: list[Cell], sources: dict[str, str], load_at_start: str) -> str:
    lines = [
        "# The numpy-free engine against the numpy engine and libimagequant",
        "",
        *machine_facts(load_at_start),
        "",
        "One run per cell, seed 0, no dithering, uint8 RGB in and out. rgb: MSE (mean over pixels and "
        "channels, 0-255 scale); lab: mean CIEDE2000 (over a fixed sample of 1,000,000 pixels above "
        "2 MP, as bench_peers.py). Ratios are numpy-free / numpy (time ratio above 1: the numpy-free "
        "engine is slower). liq: libimagequant (`imagequant`, dithering 0).",
        "",
        "| image | K | space | numpy s | numpy-free s | time ratio | numpy error | numpy-free error "
        "| error ratio | liq MSE | targets |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for cell in cells:
        liq = "" if cell.imagequant_error is None else f"{cell.imagequant_error:.2f}"
        lines.append(
            f"| {cell.image} | {cell.k} | {cell.space} | {cell.numpy_seconds:.2f} | {cell.pure_seconds:.2f} "
            f"| {cell.time_ratio:.1f}× | {cell.numpy_error:.3f} | {cell.pure_error:.3f} "
            f"| {cell.error_ratio:.4f} | {liq} | {verdicts(cell)} |"
        )
    lines += ["", "Images:", ""] + [f"- {name}: {source}" for name, source in sources.items()]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", nargs="+", choices=list(IMAGES), default=list(IMAGES))
    parser.add_argument("-k", nargs="+", type=int, default=[16, 64, 256])
    parser.add_argument("--spaces", nargs="+", choices=["rgb", "lab"], default=["rgb", "lab"])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "pure_python.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_at_start = load_average()
    cells: list[Cell] = []
    sources: dict[str, str] = {}
    for name in args.images:
        try:
            pixels, source = IMAGES[name]()
        except RuntimeError as exc:  # a wallpaper without network
            print(f"{name}: skipped ({exc})", file=sys.stderr)
            continue
        image = LoadedImage(name, pixels, source)
        sources[name] = f"{source}; {pixels.shape[1]}x{pixels.shape[0]} ({image.megapixels:.2f} MP)"
        ks = [k for k in args.k if image.megapixels <= LARGE_MP or k in LARGE_KS]
        for k in ks:
            for space in args.spaces:
                cell = bench(image, k, space)
                cells.append(cell)
                print(
                    f"{name} K={k} {space}: numpy {cell.numpy_seconds:.2f}s, "
                    f"numpy-free {cell.pure_seconds:.2f}s, error ratio {cell.error_ratio:.4f}",
                    file=sys.stderr,
                    flush=True,
                )
                write_atomic(args.out, report(cells, sources, load_at_start))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
