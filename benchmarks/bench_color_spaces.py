"""Which colour space gives the least perceived error: our k-means in rgb, lab and oklab.

For each photo of ``bench_speed.SPEED_IMAGES`` (the small ones) and each K, runs
``quantize(image, K, color_space=space, seed=0)`` (no dithering) and reports the mean
CIEDE2000 difference from the original (``kmeans_quantize.metrics.mean_delta_e_2000``, the
usual measure of perceived colour difference) and the MSE (0-255 scale, mean over pixels and
channels). The best CIEDE2000 per row is in bold. This is what the GIMP plug-in's default
colour space rests on. Run from the repository root::

    python benchmarks/bench_color_spaces.py --out benchmarks/results/color_spaces.md
"""

from __future__ import annotations

import argparse
import platform
import shlex
import sys
from pathlib import Path

from benchlib.data import LARGE_NAME, SPEED_IMAGES
from kmeans_quantize import __version__, quantize
from kmeans_quantize.metrics import mean_delta_e_2000, mse

SPACES = ("rgb", "lab", "oklab")


def table(ks: list[int]) -> list[str]:
    """Markdown rows: image, K, then CIEDE2000 / MSE per colour space."""
    lines = [
        "| image | K | " + " | ".join(f"{space}: ΔE2000 / MSE" for space in SPACES) + " |",
        "|---|---|" + "---|" * len(SPACES),
    ]
    for name, load in SPEED_IMAGES.items():
        if name == LARGE_NAME:
            continue
        image = load()
        for k in ks:
            scores = []
            for space in SPACES:
                quantized = quantize(image, k, color_space=space, seed=0).image
                scores.append((mean_delta_e_2000(image, quantized), mse(image, quantized)))
            best = min(delta for delta, _ in scores)
            cells = [
                (f"**{delta:.2f}**" if delta == best else f"{delta:.2f}") + f" / {error:.1f}"
                for delta, error in scores
            ]
            lines.append(f"| {name} | {k} | " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", type=int, nargs="+", default=[8, 16, 64], help="palette sizes (8 16 64)")
    parser.add_argument("--out", type=Path, help="also write the Markdown table here")
    args = parser.parse_args(argv)
    lines = table(args.k)
    if args.out is not None:
        command = shlex.join(["python", "benchmarks/bench_color_spaces.py", *(argv or sys.argv[1:])])
        header = [
            "# Colour spaces: perceived error of our k-means in rgb, lab and oklab",
            "",
            f"`{command}` on {platform.machine()}, Python {platform.python_version()}, "
            f"kmeans-quantize {__version__}. Mean CIEDE2000 (lower is better; best in bold) / MSE "
            "(0-255 scale, mean over pixels and channels); seed 0, no dithering.",
            "",
        ]
        args.out.write_text("\n".join(header + lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
