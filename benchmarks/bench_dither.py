"""Speed of the dithering stage (``kmeans_quantize.dither.dither_labels``) on a photo-like image.

The input is scikit-learn's ``china.jpg`` upscaled to ``--size`` x ``--size``
(2000 x 2000 by default, 4 MP) with Pillow LANCZOS plus mild Gaussian noise
(:func:`bench_memory.photo_like`). For each K a palette is fitted with
``fit_palette(image, K, seed=0)``, put in the tie-break order ``quantize``
uses (lexicographic), and both the image and the palette are encoded with
``clustering_space.RGB.encode``. Then, median of ``--repeat`` runs each:

- ``dither_labels(points, palette_points, active, method, bounds=(0, 255))``
  for "floyd-steinberg" and "ordered" (all pixels active), the time including
  everything it builds (the candidate grid of the nearest search);
- Pillow's ``Image.quantize(palette=..., dither=Image.Dither.FLOYDSTEINBERG)``
  on the same uint8 image and palette, as a peer (Pillow's C error diffusion:
  8-bit arithmetic and an approximate nearest-colour cache, so its labels
  differ from ours; it has no ordered dither for a given palette). The
  palette image is padded to 256 entries with copies of the first colour.

Both run in this process, one after the other. Run from the
repository root::

    python benchmarks/bench_dither.py                 # 2000x2000, K = 16 64 256, 3 runs
    python benchmarks/bench_dither.py -k 16 --repeat 1 --size 1000
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial

import numpy as np
import PIL
from benchlib.data import describe_photo_like, photo_like, sample_photo_path
from kmeans_quantize import __version__, fit_palette
from kmeans_quantize.clustering_space import RGB
from kmeans_quantize.dither import DITHER_METHODS, dither_labels
from numpy.typing import NDArray
from PIL import Image

RGBImage = NDArray[np.uint8]


def median_seconds(run: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``repeat`` calls of ``run``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def pillow_floyd_steinberg(image: Image.Image, colors: RGBImage) -> Callable[[], Image.Image]:
    """A call of Pillow's palette quantization with Floyd-Steinberg dithering."""
    entries = np.concatenate([colors, np.repeat(colors[:1], 256 - len(colors), axis=0)])
    palette_image = Image.new("P", (1, 1))
    palette_image.putpalette(entries.astype(np.uint8).reshape(-1).tolist())

    def run() -> Image.Image:
        return image.quantize(palette=palette_image, dither=Image.Dither.FLOYDSTEINBERG)

    return run


def machine_facts() -> list[str]:
    """Markdown list lines describing this machine and the software versions."""
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(
                (line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), model
            )
    except OSError:
        pass
    load = " / ".join(f"{value:.2f}" for value in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return [
        f"- CPU: {model}; {os.cpu_count()} logical cores",
        f"- Python {platform.python_version()} on {platform.platform()}",
        f"- numpy {np.__version__}, Pillow {PIL.__version__}, kmeans-quantize {__version__}",
        f"- load average (1/5/15 min) at start: {load}",
        f"- command: `{shlex.join(sys.orig_argv)}`",
    ]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=2000, help="image width and height (default 2000)")
    parser.add_argument(
        "-k", type=int, nargs="+", default=[16, 64, 256], help="palette sizes (default 16 64 256)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is shown")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    source = np.asarray(Image.open(sample_photo_path("china.jpg")).convert("RGB"))
    image = photo_like(source, args.size, args.size)
    pil_image = Image.fromarray(image)
    points = RGB.encode(image.reshape(-1, 3), np.dtype(np.uint8)).reshape(image.shape)
    active = np.ones(image.shape[:2], dtype=bool)
    bounds = (np.zeros(3), np.full(3, 255.0))

    lines = [f"# Dithering speed: {args.size}x{args.size} ({args.size**2 / 1e6:.1f} MP) RGB", ""]
    lines += machine_facts()
    lines += [
        f"- input: {describe_photo_like('china.jpg', args.size, args.size)}",
        "- palette: `fit_palette(image, K, seed=0)`, sorted lexicographically",
        f"- times: wall seconds, median of {args.repeat} run(s)",
        "",
        "| K | floyd-steinberg s | ordered s | Pillow FS s | ours FS / Pillow FS | ordered / Pillow FS |",
        "|---|---|---|---|---|---|",
    ]
    for k in args.k:
        print(f"K={k}: fitting the palette", file=sys.stderr)
        colors = fit_palette(image, k, seed=0).colors
        colors = colors[np.lexsort(colors.T[::-1])]
        palette_points = RGB.encode(colors, colors.dtype)
        seconds = {}
        for method in DITHER_METHODS:
            print(f"K={k}: {method}", file=sys.stderr)
            run = partial(dither_labels, points, palette_points, active, method, bounds)
            seconds[method] = median_seconds(run, args.repeat)
        print(f"K={k}: Pillow", file=sys.stderr)
        pillow = median_seconds(pillow_floyd_steinberg(pil_image, colors), args.repeat)
        fs, ordered = seconds["floyd-steinberg"], seconds["ordered"]
        ratios = f"{fs / pillow:.1f} | {ordered / pillow:.1f}"
        lines.append(f"| {len(colors)} | {fs:.2f} | {ordered:.2f} | {pillow:.3f} | {ratios} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
