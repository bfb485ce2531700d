"""Measuring: timing runs, peak memory, the errors of a result, and the facts of the machine."""

from __future__ import annotations

import functools
import json
import math
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import kmeans_quantize
import numpy as np
import sklearn
from kmeans_quantize.metrics import mean_delta_e_2000, mse
from threadpoolctl import threadpool_info

from benchlib.data import LoadedImage, RGBImage, progress
from benchlib.gimp import gimp_indexed
from benchlib.peers import GIMP, METHODS, ONCE_ON_LARGE, SEED, SLOW_METHODS

#: Limit on the child's total peak resident set, in bytes (1.5 GB, decimal).
LIMIT_BYTES = 1_500_000_000

MB = 1_000_000

#: Above this many megapixels, mean CIEDE2000 is computed on a fixed random sample of pixels.
DELTA_E_FULL_MAX_MP = 2.0

DELTA_E_SAMPLE = 1_000_000

CHILD_TIMEOUT = 1800


def machine_facts(load_at_start: str) -> list[str]:
    """Markdown list lines describing this machine, its load and the software versions."""
    blas = [
        f"{lib['internal_api']} {lib.get('version')} ({lib['num_threads']} threads, "
        f"{lib.get('architecture')}, {Path(lib['filepath']).name})"
        for lib in threadpool_info()
        if lib["user_api"] == "blas"
    ]
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        f"- CPU: {cpu_model()}; {os.cpu_count()} logical cores, {usable} usable by this process",
        f"- Python {platform.python_version()} on {platform.platform()}",
        f"- numpy {np.__version__}, scikit-learn {sklearn.__version__}, "
        f"kmeans-quantize {kmeans_quantize.__version__}",
        f"- BLAS (threadpoolctl): {'; '.join(blas) or 'none found'}",
        f"- load average (1/5/15 min) at start: {load_at_start}; at end: {load_average()} "
        "(other processes competing for the cores slow the two methods unequally)",
        f"- command: `{shlex.join(sys.orig_argv)}`",
    ]


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, or "n/a" where the OS has none."""
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except (AttributeError, OSError):
        return "n/a"


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo, or what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def current_rss() -> int:
    """Resident set size of this process now, in bytes (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def peak_rss() -> int:
    """Peak resident set size of this process so far, in bytes (``ru_maxrss``)."""
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss if sys.platform == "darwin" else maxrss * 1024


def psnr(error: float) -> float:
    """PSNR in dB for a per-channel MSE on the 0-255 scale."""
    return math.inf if error == 0 else 10 * math.log10(255**2 / error)


@dataclass
class Row:
    """One method on one image and K: the raw figures (one entry of peers.json)."""

    image: str
    megapixels: float
    unique_colors: int
    k: int
    method: str
    times: list[float] = field(default_factory=list)
    mse: float | None = None
    psnr: float | None = None
    delta_e: float | None = None
    peak_mb: float | None = None
    #: "ok", "error", "skipped" or "not run"; ``note`` says why, or how the run was limited.
    status: str = "ok"
    note: str = ""
    runs_planned: int = 0

    @property
    def seconds(self) -> float | None:
        """Median time, or None without a successful run."""
        return statistics.median(self.times) if self.times and self.status == "ok" else None

    def as_json(self) -> dict[str, Any]:
        """The row as plain JSON values; an infinite PSNR (lossless result) becomes null."""
        fields = {**asdict(self), "seconds": self.seconds}
        return {
            key: None if isinstance(value, float) and not math.isfinite(value) else value
            for key, value in fields.items()
        }


@dataclass
class Settings:
    """What to run, from the command line."""

    ks: list[int]
    methods: list[str]
    repeat: int
    slow_above_mp: float
    slow_max_k: int
    memory: bool
    gimp: bool


def runs_for(method: str, megapixels: float, k: int, settings: Settings) -> tuple[int, str]:
    """How many times a method runs on an image and K, and a note when that is limited.

    On images above ``settings.slow_above_mp`` megapixels the slow peers run once and only for
    K <= ``settings.slow_max_k``, and our CIELAB and Oklab modes (whose speed no target judges)
    run once; everything else runs ``settings.repeat`` times.
    """
    above = f"on images above {settings.slow_above_mp:g} MP"
    if megapixels <= settings.slow_above_mp or method not in (*SLOW_METHODS, *ONCE_ON_LARGE):
        return settings.repeat, ""
    if method in SLOW_METHODS and k > settings.slow_max_k:
        return 0, f"slow peer, K > {settings.slow_max_k} {above}"
    if settings.repeat == 1:
        return 1, ""
    return 1, ("slow peer" if method in SLOW_METHODS else "quality-only mode") + f": one run {above}"


def delta_e_sample(image: LoadedImage) -> np.ndarray | None:
    """Sorted pixel indices for the CIEDE2000 sample (seed 0), or None to use every pixel."""
    if image.megapixels <= DELTA_E_FULL_MAX_MP:
        return None
    count = image.pixels.shape[0] * image.pixels.shape[1]
    return np.sort(np.random.default_rng(SEED).choice(count, DELTA_E_SAMPLE, replace=False))


def score(row: Row, original: RGBImage, quantized: RGBImage, sample: np.ndarray | None) -> None:
    """Fill in MSE, PSNR and mean CIEDE2000 of a quantized image (on ``sample`` pixels if given)."""
    if quantized.shape != original.shape or quantized.dtype != np.uint8:
        raise ValueError(f"output is {quantized.dtype} {quantized.shape}, expected uint8 {original.shape}")
    row.mse = mse(original, quantized)
    row.psnr = psnr(row.mse)
    if sample is None:
        row.delta_e = mean_delta_e_2000(original, quantized)
    else:
        pick = functools.partial(np.take, indices=sample, axis=0)
        row.delta_e = mean_delta_e_2000(
            pick(original.reshape(-1, 3))[np.newaxis], pick(quantized.reshape(-1, 3))[np.newaxis]
        )


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()


def bench_cell(
    image: LoadedImage,
    unique: int,
    k: int,
    settings: Settings,
    sample: np.ndarray | None,
    crops: dict[str, RGBImage] | None = None,
) -> list[Row]:
    """Run every in-process method on one image and K, interleaved, and score each.

    For each round every method still due runs once; the order alternates from one round to
    the next. A method is scored right after its last run (and, if ``crops`` is given, the
    strip's crop of its output stored there). A method that raises is recorded as an error and
    not run again on this image and K.
    """
    names = [name for name in settings.methods if name in METHODS]
    rows: dict[str, Row] = {}
    for name in names:
        runs, note = runs_for(name, image.megapixels, k, settings)
        rows[name] = Row(image.name, image.megapixels, unique, k, name, note=note, runs_planned=runs)
        if runs == 0:
            rows[name].status = "skipped"
    for round_index in range(settings.repeat):
        order = names if round_index % 2 == 0 else names[::-1]
        for name in order:
            row = rows[name]
            if row.status != "ok" or round_index >= row.runs_planned:
                continue
            try:
                start = time.perf_counter()
                output = METHODS[name](image.pixels, k)
                row.times.append(time.perf_counter() - start)
                message = f"{row.times[-1]:.3f} s"
                if len(row.times) == row.runs_planned:
                    score(row, image.pixels, output, sample)
                    if crops is not None:
                        crops[name] = crop_for_strip(output)
                del output
            except Exception as exc:  # one peer failing must not stop the benchmark
                row.status, row.note = "error", error_text(exc)
                message = row.note
            progress(f"  {image.name} K={k} round {round_index + 1}/{row.runs_planned} {name}: {message}")
    return list(rows.values())


def run_gimp(
    images: list[LoadedImage], uniques: dict[str, int], settings: Settings, details: dict[str, Any]
) -> tuple[dict[tuple[str, int], Row], dict[tuple[str, int], RGBImage]]:
    """Run GIMP's Indexed mode once on every image and K (one GIMP start).

    Returns the gimp-indexed rows with their times (not yet scored) and GIMP's outputs by
    (image, K). When GIMP cannot run, every row has status "not run" and a note saying why.
    ``details`` receives what :func:`gimp_indexed.gimp_indexed` reports about GIMP.
    """
    rows = {
        (image.name, k): Row(
            image.name, image.megapixels, uniques[image.name], k, GIMP, runs_planned=settings.repeat
        )
        for image in images
        for k in settings.ks
    }
    outputs: dict[tuple[str, int], RGBImage] = {}
    result: dict[tuple[str, int], tuple[np.ndarray, list[float]]] | str
    if not settings.gimp:
        result = "--no-gimp given"
    elif not images:
        result = "no image"
    else:
        progress(f"GIMP: {len(images)} image(s) x {len(settings.ks)} K x {settings.repeat} conversion(s) ...")
        start = time.perf_counter()
        try:
            result = gimp_indexed(
                {image.name: image.pixels for image in images}, settings.ks, settings.repeat, details=details
            )
        except Exception as exc:  # GIMP is optional: its column says why it has no figures
            result = error_text(exc)
        progress(f"GIMP: finished in {time.perf_counter() - start:.0f} s")
    for key, row in rows.items():
        if isinstance(result, str):
            row.status, row.note = "not run", result
        elif key not in result:
            row.status, row.note = "error", "GIMP returned no result for this image and K"
        else:
            outputs[key], times = result[key]
            row.times = [float(seconds) for seconds in times]
    return rows, outputs


#: The memory child: load the image, quantize, print the peak resident set of its address space.
CHILD_CODE = """
import json, sys
import numpy as np
from kmeans_quantize import quantize
image = np.load(sys.argv[1])
quantize(image, int(sys.argv[2]), seed=0)
with open("/proc/self/status") as status:
    hwm = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
print(json.dumps({"vm_hwm": hwm}))
"""


def peak_memory(image: RGBImage, ks: list[int]) -> dict[int, float | str]:
    """Peak resident memory (MB) of a fresh process that loads the image and runs ours-rgb.

    The child (``python -c``) loads the image from a temporary .npy, runs
    ``quantize(image, K, seed=0)`` and reports the peak resident set of its own address space,
    ``VmHWM`` from ``/proc/self/status``; nothing is subtracted. Not ``ru_maxrss``: Linux
    carries the parent's peak over into a child's ``ru_maxrss`` at ``exec`` (this process holds
    every image and output, so that would report this process's peak, not the child's).
    Returns per K the peak in MB, or an error message. Linux only.
    """
    peaks: dict[int, float | str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as work:
        path = Path(work) / "image.npy"
        np.save(path, image)
        for k in ks:
            command = [sys.executable, "-c", CHILD_CODE, str(path), str(k)]
            try:
                done = subprocess.run(
                    command, capture_output=True, text=True, timeout=CHILD_TIMEOUT, check=True
                )
                peaks[k] = json.loads(done.stdout.strip().splitlines()[-1])["vm_hwm"] / MB
                progress(f"  memory K={k}: peak {peaks[k]:.0f} MB")
            except (OSError, subprocess.SubprocessError, ValueError, IndexError, KeyError) as exc:
                stderr = getattr(exc, "stderr", None) or ""
                peaks[k] = f"memory child failed: {error_text(exc)} {stderr.strip()[-300:]}"
                progress(f"  memory K={k}: {peaks[k]}")
    return peaks


def warm_up(methods: Iterable[str]) -> None:
    """Run each method once on a tiny image so that imports and thread pools are ready."""
    tiny = np.random.default_rng(SEED).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    for name in methods:
        if name in METHODS:
            try:
                METHODS[name](tiny, 4)
            except Exception as exc:  # reported again, per cell, when it runs for real
                progress(f"warm-up: {name} failed: {error_text(exc)}")


STRIP_IMAGE = "china.jpg"


STRIP_K = 16


#: Top-left corner (x, y) and side of the crop shown in the strip: roof edge, sky and lake.
STRIP_CROP = (230, 140, 160)


def crop_for_strip(image: RGBImage) -> RGBImage:
    """The strip's crop of an image (moved inside, and shrunk to, a smaller image)."""
    x, y, side = STRIP_CROP
    height, width = image.shape[:2]
    side = min(side, height, width)
    x, y = min(x, width - side), min(y, height - side)
    crop: RGBImage = image[y : y + side, x : x + side].copy()
    return crop


def mse_by_rows(original: np.ndarray, quantized: np.ndarray) -> float:
    """Mean squared error over pixels and channels, on the 0-255 scale, with little memory.

    The squared differences are summed 512 rows at a time, so that a 24 MP image needs a few
    megabytes beside its two uint8 copies (``kmeans_quantize.metrics.mse`` converts whole images
    to float64).

    Parameters
    ----------
    original, quantized : ndarray of uint8, shape (H, W, C)
        The images to compare.

    Returns
    -------
    float
    """
    total = 0.0
    for start in range(0, original.shape[0], 512):
        difference = original[start : start + 512].astype(np.int32) - quantized[start : start + 512]
        total += float(np.square(difference).sum())
    return total / original.size
