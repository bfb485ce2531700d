"""Self-check of the GIMP 3 peer (:func:`benchlib.gimp.gimp_indexed`): GIMP's Image > Mode >
Indexed on a few images and K, its times and MSE.

Run from the repository root (scikit-learn's china.jpg, K = 16 and 64 by default)::

    python benchmarks/gimp_indexed.py
    python benchmarks/gimp_indexed.py --images china.jpg flower.jpg china_12mp -k 16 64 256 --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
from typing import Any

import numpy as np
from benchlib.data import LARGE_SIZE, photo_like
from benchlib.gimp import gimp_indexed
from benchlib.measure import mse_by_rows


def _load_image(name: str) -> np.ndarray:
    """china.jpg / flower.jpg from scikit-learn, or china_12mp as bench_speed.py builds it."""
    from sklearn.datasets import load_sample_image

    if name == "china_12mp":
        return photo_like(load_sample_image("china.jpg"), *LARGE_SIZE)
    return np.asarray(load_sample_image(name))


def main(argv: list[str] | None = None) -> int:
    """Self-check: run GIMP's Indexed mode on sample photos, print times and MSE."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--images",
        nargs="+",
        default=["china.jpg"],
        choices=["china.jpg", "flower.jpg", "china_12mp"],
        help="images to convert (default china.jpg)",
    )
    parser.add_argument("-k", type=int, nargs="+", default=[16, 64], help="palette sizes (default 16 64)")
    parser.add_argument("--repeat", type=int, default=1, help="conversions per image and K (default 1)")
    args = parser.parse_args(argv)

    images = {name: _load_image(name) for name in args.images}
    details: dict[str, Any] = {}
    results = gimp_indexed(images, args.k, args.repeat, details=details)
    if isinstance(results, str):
        print(f"GIMP Indexed could not run: {results}", file=sys.stderr)
        return 1
    facts = details["facts"]
    print(f"GIMP {facts['gimp_version']} ({details['gimp']})")
    print(
        f"num-processors {facts['num_processors']}, tile-cache-size {facts['gimprc_tile_cache_size']}, "
        f"GIMP run {details['wall_seconds']:.1f} s, peak RSS: GIMP core "
        f"{details['core_peak_rss_bytes'] / 1e6:.0f} MB, "
        f"plug-in {details['plugin_peak_rss_bytes'] / 1e6:.0f} MB"
    )
    print("| image | size | K | palette | seconds (median, min) | MSE (per channel) |")
    print("|---|---|---|---|---|---|")
    for (name, k), (quantized, seconds) in results.items():
        image = images[name]
        print(
            f"| {name} | {image.shape[1]}x{image.shape[0]} | {k} | {details['palette_colors'][name, k]} | "
            f"{statistics.median(seconds):.3f}, {min(seconds):.3f} | {mse_by_rows(image, quantized):.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
