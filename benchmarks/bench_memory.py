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
import importlib.util
import json
import math
import os
import platform
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from kmeans_quantize import quantize
from numpy.typing import NDArray
from PIL import Image

#: Limit on the child's total peak resident set, in bytes (1.5 GB, decimal).
LIMIT_BYTES = 1_500_000_000
#: Standard deviation of the Gaussian noise added to upscaled photos, in 8-bit steps.
NOISE_SIGMA = 2.0
NOISE_SEED = 0
#: Rows of noise drawn at a time; part of the definition of the image (it fixes the draw order).
NOISE_BLOCK_ROWS = 256
#: Aspect ratio (width / height) of the generated image: a 3:2 camera frame.
ASPECT = 1.5
MB = 1_000_000


def sample_photo_path(name: str) -> Path:
    """Path of one of scikit-learn's sample photos, found without importing scikit-learn.

    Parameters
    ----------
    name : str
        "china.jpg" or "flower.jpg".

    Returns
    -------
    Path
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("scikit-learn is not installed; it ships the sample photos")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "images" / name


def photo_like(source: NDArray[np.uint8], width: int, height: int) -> NDArray[np.uint8]:
    """Upscale a photo and add mild noise, deterministically.

    The photo is resized with Pillow's LANCZOS filter, then Gaussian noise
    (``NOISE_SIGMA``, seed ``NOISE_SEED``) is rounded, added and clipped, block
    of rows by block of rows so that building a large image needs little more
    memory than the image itself. The noise gives the upscaled image millions
    of distinct colours, as a real photo of that size has.

    Parameters
    ----------
    source : ndarray of uint8, shape (h, w, 3)
        The photo to upscale.
    width, height : int
        Size of the result in pixels.

    Returns
    -------
    ndarray of uint8, shape (height, width, 3)
    """
    image = np.array(Image.fromarray(source).resize((width, height), Image.Resampling.LANCZOS))
    rng = np.random.default_rng(NOISE_SEED)
    for start in range(0, height, NOISE_BLOCK_ROWS):
        block = image[start : start + NOISE_BLOCK_ROWS].astype(np.int16)
        block += np.rint(rng.normal(0.0, NOISE_SIGMA, block.shape)).astype(np.int16)
        image[start : start + NOISE_BLOCK_ROWS] = np.clip(block, 0, 255)
    return image


def describe_photo_like(source_name: str, width: int, height: int) -> str:
    """One line saying how :func:`photo_like` made an image."""
    return (
        f"{source_name} upscaled to {width}x{height} with Pillow LANCZOS, plus Gaussian noise "
        f"(sigma {NOISE_SIGMA:g}, numpy default_rng({NOISE_SEED}), rounded and clipped to 0-255)"
    )


def frame_size(megapixels: float) -> tuple[int, int]:
    """Width and height of a 3:2 frame of about ``megapixels`` million pixels."""
    width = round(math.sqrt(megapixels * 1e6 * ASPECT))
    return width, round(width / ASPECT)


def current_rss() -> int:
    """Resident set size of this process now, in bytes (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def peak_rss() -> int:
    """Peak resident set size of this process so far, in bytes (``ru_maxrss``)."""
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss if sys.platform == "darwin" else maxrss * 1024


def count_colors(image: NDArray[np.uint8]) -> int:
    """Number of distinct RGB colours in an 8-bit image."""
    flat = image.reshape(-1, 3).astype(np.uint32)
    packed = (flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]
    return int(np.unique(packed).size)


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
    return json.loads(done.stdout.strip().splitlines()[-1])


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
