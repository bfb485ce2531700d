"""Peak memory of ``quantize`` on a large photo-like image.

The measurement runs in a fresh child process (this script again, with
``--child``) so that nothing the parent allocated counts. The child builds the
input, records its resident set, quantizes, and reads the peak resident set
from ``resource.getrusage(RUSAGE_SELF).ru_maxrss``.

Run from the repository root::

    python benchmarks/bench_memory.py              # 24 MP, K=256
    python benchmarks/bench_memory.py -k 64 --megapixels 12

Exit code 0 on PASS, 1 on FAIL (peak above the limit, or the child failed).
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import shlex
import subprocess
import sys
import time

import numpy as np
from benchlib.data import count_colors, describe_photo_like, frame_size, photo_like, sample_photo_path
from benchlib.measure import LIMIT_BYTES, MB, current_rss, peak_rss
from kmeans_quantize import quantize
from PIL import Image


def measure(n_colors: int, megapixels: float) -> dict[str, float | int | str]:
    """Build the input, quantize it, and return the memory and time figures (child side).

    Parameters
    ----------
    n_colors : int
        Palette size K.
    megapixels : float
        Size of the generated input image.

    Returns
    -------
    dict
        Sizes in bytes, time in seconds, and a description of the input.
    """
    width, height = frame_size(megapixels)
    source = np.asarray(Image.open(sample_photo_path("china.jpg")).convert("RGB"))
    image = photo_like(source, width, height)
    gc.collect()
    baseline, build_peak = current_rss(), peak_rss()

    start = time.perf_counter()
    result = quantize(image, n_colors, seed=0)
    seconds = time.perf_counter() - start
    peak = peak_rss()
    del result
    return {
        "input": describe_photo_like("china.jpg", width, height),
        "width": width,
        "height": height,
        "input_bytes": image.nbytes,
        "unique_colors": count_colors(image),
        "baseline": baseline,
        "build_peak": build_peak,
        "peak": peak,
        "seconds": seconds,
    }


def run_child(n_colors: int, megapixels: float) -> dict[str, float | int | str]:
    """Run :func:`measure` in a fresh interpreter and return its figures (parent side)."""
    command = [sys.executable, __file__, "--child", "-k", str(n_colors), "--megapixels", str(megapixels)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"child exited with code {done.returncode}:\n{done.stderr.strip()}")
    figures: dict[str, float | int | str] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def report(figures: dict[str, float | int | str], n_colors: int) -> tuple[str, bool]:
    """Markdown report of the child's figures, and whether the peak is within the limit."""
    peak = int(figures["peak"])
    passed = peak <= LIMIT_BYTES
    megapixels = int(figures["width"]) * int(figures["height"]) / 1e6
    lines = [
        f"# Peak memory of quantize: K={n_colors}, {figures['width']}x{figures['height']} "
        f"({megapixels:.1f} MP) uint8 RGB",
        "",
        f"- command: `{shlex.join(sys.orig_argv)}`",
        f"- Python {platform.python_version()}, numpy {np.__version__}, {platform.platform()}",
        f"- input: {figures['input']}; {int(figures['unique_colors']):,} unique colours",
        "- measured in a fresh child process; MB = 10^6 bytes; peak = ru_maxrss of the child",
        "",
        "| measure | value |",
        "|---|---|",
        f"| input array | {int(figures['input_bytes']) / MB:.1f} MB |",
        f"| baseline RSS after building the input | {int(figures['baseline']) / MB:.1f} MB |",
        f"| peak RSS before quantize (imports + building) | {int(figures['build_peak']) / MB:.1f} MB |",
        f"| peak RSS | {peak / MB:.1f} MB |",
        f"| peak minus input array | {(peak - int(figures['input_bytes'])) / MB:.1f} MB |",
        f"| peak minus baseline (added by quantize) | {(peak - int(figures['baseline'])) / MB:.1f} MB |",
        f"| quantize time | {float(figures['seconds']):.2f} s |",
        f"| limit on peak RSS | {LIMIT_BYTES / MB:.0f} MB |",
        "",
    ]
    if peak <= int(figures["build_peak"]):
        lines += [
            "note: quantize stayed below the peak reached while building the input; its own peak is lower.",
            "",
        ]
    lines.append(f"result: {'PASS' if passed else 'FAIL'}")
    return "\n".join(lines), passed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Peak memory of kmeans_quantize.quantize on a large photo.")
    parser.add_argument("-k", type=int, default=256, help="palette size K (default 256)")
    parser.add_argument("--megapixels", type=float, default=24.0, help="input size, 3:2 frame (default 24)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.k, args.megapixels)))
        return 0
    try:
        figures = run_child(args.k, args.megapixels)
    except RuntimeError as exc:
        print(f"FAIL: {exc}")
        return 1
    text, passed = report(figures, args.k)
    print(text)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
