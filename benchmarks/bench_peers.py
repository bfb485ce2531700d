"""Our quantizer against its peers, side by side, in one run: time, MSE, PSNR, CIEDE2000, memory.

Every method turns a uint8 RGB image into a uint8 RGB image with at most K colours, without
dithering, each in its best honest configuration (see ``METHOD_NOTES``): ours
(``quantize(image, K, color_space=S, seed=0)`` for S in rgb, lab, oklab); scikit-learn
``KMeans`` on the unique colours weighted by their counts, in RGB and in CIELAB; scikit-learn's
colour-quantization example (fit on 1,000 random pixels, predict the rest); Pillow MEDIANCUT,
MEDIANCUT with ``kmeans=1`` and FASTOCTREE; libimagequant (PyPI ``imagequant``); OpenCV
``cv2.kmeans``; GIMP 3's Image > Mode > Indexed (through ``gimp_indexed.py``, one GIMP start for
all images and K, timed inside GIMP).

Times are wall seconds, the median of ``--repeat`` runs, methods interleaved in one process (for
each repeat every method runs once; the order alternates). On images above
``--skip-slow-above-mp`` megapixels the slow peers (``SLOW_METHODS``) run once and only for
K <= ``--slow-max-k``, and ours-lab and ours-oklab run once (``ONCE_ON_LARGE``): that keeps the
default run near 40 minutes on 2 cores. Our peak memory (ours-rgb) is measured in a fresh child
process per image and K. The two large wallpapers come from Debian packages fetched into ``benchmarks/cache/``
(``apt-get download`` + ``dpkg -x``, no install); without network they are skipped.

Run from the repository root::

    python benchmarks/bench_peers.py                          # everything: about 40 min on 2 cores
    python benchmarks/bench_peers.py --images china.jpg flower.jpg -k 16 64
    python benchmarks/bench_peers.py --methods ours-rgb imagequant gimp-indexed --images china_12mp
    python benchmarks/bench_peers.py --smoke --out-dir /tmp/peers   # seconds: checks the pipeline

Writes ``peers.md`` (report), ``peers.json`` (raw rows), ``peers-pareto.png`` (MSE against time)
and ``peers-strip.png`` (crops of china.jpg at K=16) to ``--out-dir`` (default
``benchmarks/results``), each atomically; the report and JSON are rewritten after every image.
"""

from __future__ import annotations

import argparse
import functools
import importlib.metadata
import io
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from bench_memory import LIMIT_BYTES, MB, count_colors, describe_photo_like, photo_like
from bench_speed import IMAGES as SPEED_IMAGES
from bench_speed import (
    LARGE_NAME,
    LARGE_SIZE,
    Quantizer,
    RGBImage,
    load_average,
    machine_facts,
    progress,
    psnr,
)
from gimp_indexed import gimp_indexed
from kmeans_quantize import quantize
from kmeans_quantize.colorspace import lab_to_srgb, srgb_to_lab
from kmeans_quantize.metrics import mean_delta_e_2000, mse
from PIL import Image
from sklearn.cluster import KMeans
from sklearn.datasets import load_sample_image
from sklearn.utils import shuffle

HERE = Path(__file__).resolve().parent
CACHE = HERE / "cache"
SEED = 0

# ---------------------------------------------------------------------------------------------
# Images

SMOKE_NAME = "flower_small"
SMOKE_SIZE = (160, 107)
HUGE_NAME = "china_24mp"
HUGE_SIZE = (6000, 4000)
WALLPAPER_PACKAGES = ("ukui-wallpapers", "gnome-backgrounds")
#: Files considered in a wallpaper package, and the least width of the one picked.
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
MIN_WALLPAPER_WIDTH = 3840
#: Above this many megapixels, mean CIEDE2000 is computed on a fixed random sample of pixels.
DELTA_E_FULL_MAX_MP = 2.0
DELTA_E_SAMPLE = 1_000_000
#: Seconds allowed for downloading one package, and for one memory child.
DOWNLOAD_TIMEOUT = 900
CHILD_TIMEOUT = 1800


@dataclass
class LoadedImage:
    """An image of the benchmark and one line saying where it comes from."""

    name: str
    pixels: RGBImage
    source: str

    @property
    def megapixels(self) -> float:
        return self.pixels.shape[0] * self.pixels.shape[1] / 1e6


def _sample_photo(name: str) -> tuple[RGBImage, str]:
    return SPEED_IMAGES[name](), (
        f"scikit-learn sample photo {name}"
        if name.endswith(".jpg")
        else f"scikit-image bundled photo skimage.data.{name}()"
    )


def _photo_like(width: int, height: int) -> tuple[RGBImage, str]:
    image = photo_like(load_sample_image("china.jpg"), width, height)
    return image, describe_photo_like("china.jpg", width, height)


def _smoke_image() -> tuple[RGBImage, str]:
    image = Image.fromarray(load_sample_image("flower.jpg")).resize(SMOKE_SIZE, Image.Resampling.LANCZOS)
    return np.asarray(image), f"flower.jpg downscaled to {SMOKE_SIZE[0]}x{SMOKE_SIZE[1]} (Pillow LANCZOS)"


def fetch_package(package: str) -> Path:
    """The unpacked tree of a Debian package in the cache, downloading it on first use.

    ``apt-get download`` fetches the .deb into a temporary folder and ``dpkg -x`` unpacks it
    (no installation, no root needed); the tree is then moved into place in one step, so that
    an interrupted run leaves no half-unpacked tree behind.

    Parameters
    ----------
    package : str
        Debian package name.

    Returns
    -------
    Path
        ``CACHE / package``; its file ``SOURCE`` names the .deb it came from.

    Raises
    ------
    RuntimeError
        If the download or the unpacking fails (for instance without network).
    """
    target = CACHE / package
    if (target / "SOURCE").is_file():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE, prefix=f".{package}-") as work:
        progress(f"downloading Debian package {package} into {CACHE} ...")
        for command in (["apt-get", "download", package], None):
            if command is None:
                debs = sorted(Path(work).glob(f"{package}_*.deb"))
                if not debs:
                    raise RuntimeError(f"apt-get download {package} left no .deb")
                command = ["dpkg", "-x", str(debs[0]), str(Path(work) / "tree")]
            try:
                subprocess.run(
                    command, cwd=work, check=True, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT
                )
            except (OSError, subprocess.SubprocessError) as exc:
                stderr = getattr(exc, "stderr", None) or ""
                raise RuntimeError(f"`{shlex.join(command)}` failed: {exc} {stderr.strip()[-300:]}") from exc
        (Path(work) / "tree" / "SOURCE").write_text(debs[0].name + "\n")
        os.replace(Path(work) / "tree", target)
    return target


def pick_wallpaper(tree: Path) -> Path:
    """The largest picture of a package: most pixels, then largest file; at least 3840 px wide.

    PNG, JPEG and WebP files count (gnome-backgrounds 43 ships only WebP); SVG and XML do not.
    """
    candidates = []
    for path in sorted(tree.rglob("*")):
        if path.suffix.lower() not in PICTURE_SUFFIXES or not path.is_file():
            continue
        with Image.open(path) as picture:
            width, height = picture.size
        if width >= MIN_WALLPAPER_WIDTH:
            candidates.append((width * height, path.stat().st_size, str(path)))
    if not candidates:
        raise RuntimeError(f"no picture at least {MIN_WALLPAPER_WIDTH} px wide in {tree}")
    return Path(max(candidates)[2])


def _wallpaper(package: str) -> tuple[RGBImage, str]:
    tree = fetch_package(package)
    path = pick_wallpaper(tree)
    with Image.open(path) as picture:
        mode = picture.mode
        image = np.asarray(picture.convert("RGB"))  # alpha, if any, is dropped
    deb = (tree / "SOURCE").read_text().strip()
    alpha = ", alpha dropped" if "A" in mode else ""
    return image, f"{path.relative_to(tree)} from {deb} (Pillow mode {mode}{alpha})"


#: Every image by name: a function returning the pixels and where they come from.
IMAGES: dict[str, Callable[[], tuple[RGBImage, str]]] = {
    **{name: functools.partial(_sample_photo, name) for name in SPEED_IMAGES if name != LARGE_NAME},
    **{package: functools.partial(_wallpaper, package) for package in WALLPAPER_PACKAGES},
    LARGE_NAME: functools.partial(_photo_like, *LARGE_SIZE),
    HUGE_NAME: functools.partial(_photo_like, *HUGE_SIZE),
    SMOKE_NAME: _smoke_image,
}
DEFAULT_IMAGES = [name for name in IMAGES if name != SMOKE_NAME]

# ---------------------------------------------------------------------------------------------
# Methods


def ours(space: str, image: RGBImage, k: int) -> RGBImage:
    """kmeans_quantize.quantize in one colour space, seed 0, no dithering."""
    return quantize(image, k, color_space=space, seed=SEED).image


def sklearn_unique(image: RGBImage, k: int, *, lab: bool = False) -> RGBImage:
    """scikit-learn KMeans(K, n_init=1) on the unique colours, weighted by their counts.

    Colours are deduplicated with ``np.unique`` on the colours packed into 24-bit integers
    (the same result as ``np.unique(pixels, axis=0)``, about 15x faster on 12 MP). With
    ``lab=True`` the unique colours are clustered in CIELAB and the centres converted back to
    sRGB (clipped). Dedupe and mapping back through the inverse index are part of the time.
    """
    pixels = image.reshape(-1, 3).astype(np.uint32)
    packed = (pixels[:, 0] << 16) | (pixels[:, 1] << 8) | pixels[:, 2]
    codes, inverse, counts = np.unique(packed, return_inverse=True, return_counts=True)
    colors = np.stack([codes >> 16, (codes >> 8) & 255, codes & 255], axis=1).astype(np.float64)
    data = srgb_to_lab(colors / 255.0) if lab else colors
    fitted = KMeans(n_clusters=k, n_init=1, random_state=SEED).fit(data, sample_weight=counts)
    centres = fitted.cluster_centers_
    if lab:
        centres = np.clip(lab_to_srgb(centres), 0.0, 1.0) * 255.0
    palette = np.clip(np.rint(centres), 0, 255).astype(np.uint8)
    return palette[fitted.labels_[inverse.reshape(-1)]].reshape(image.shape)


#: Pixels the scikit-learn example fits on.
EXAMPLE_SAMPLE = 1000


def sklearn_example(image: RGBImage, k: int) -> RGBImage:
    """scikit-learn's "Color Quantization using K-Means" example: fit on 1,000 pixels, predict all.

    As in the example, pixels are float64 in [0, 1], the sample is
    ``shuffle(pixels, random_state=0, n_samples=1000)`` and the model ``KMeans(K, random_state=0)``
    (default ``n_init``); the palette is the centres times 255, rounded.
    """
    pixels = image.reshape(-1, 3).astype(np.float64) / 255.0
    sample = shuffle(pixels, random_state=SEED, n_samples=EXAMPLE_SAMPLE)
    fitted = KMeans(n_clusters=k, random_state=SEED).fit(sample)
    palette = np.clip(np.rint(fitted.cluster_centers_ * 255.0), 0, 255).astype(np.uint8)
    return palette[fitted.predict(pixels)].reshape(image.shape)


def pillow(method: Image.Quantize, kmeans: int, image: RGBImage, k: int) -> RGBImage:
    """Pillow ``Image.quantize(colors=K, method=..., kmeans=..., dither=NONE)``, back to RGB."""
    quantized = Image.fromarray(image).quantize(
        colors=k, method=method, kmeans=kmeans, dither=Image.Dither.NONE
    )
    return np.asarray(quantized.convert("RGB"))


def libimagequant(image: RGBImage, k: int) -> RGBImage:
    """libimagequant through PyPI ``imagequant``: no dithering, default quality and speed."""
    import imagequant

    quantized = imagequant.quantize_pil_image(Image.fromarray(image), dithering_level=0.0, max_colors=k)
    return np.asarray(quantized.convert("RGB"))


def opencv(image: RGBImage, k: int) -> RGBImage:
    """OpenCV ``cv2.kmeans`` on every pixel (float32): k-means++, 10 iterations or eps 1, 1 attempt."""
    import cv2

    cv2.setRNGSeed(SEED)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
    pixels = image.reshape(-1, 3).astype(np.float32)
    _, labels, centres = cv2.kmeans(pixels, k, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
    palette = np.clip(np.rint(centres), 0, 255).astype(np.uint8)
    return palette[labels.reshape(-1)].reshape(image.shape)


OURS = "ours-rgb"
GIMP = "gimp-indexed"
#: The methods run in this process, in table order; GIMP runs apart (one GIMP start).
METHODS: dict[str, Quantizer] = {
    OURS: functools.partial(ours, "rgb"),
    "ours-lab": functools.partial(ours, "lab"),
    "ours-oklab": functools.partial(ours, "oklab"),
    "sklearn-unique": sklearn_unique,
    "sklearn-unique-lab": functools.partial(sklearn_unique, lab=True),
    "sklearn-1000px": sklearn_example,
    "pillow-mediancut": functools.partial(pillow, Image.Quantize.MEDIANCUT, 0),
    "pillow-mediancut-kmeans": functools.partial(pillow, Image.Quantize.MEDIANCUT, 1),
    "pillow-fastoctree": functools.partial(pillow, Image.Quantize.FASTOCTREE, 0),
    "imagequant": libimagequant,
    "opencv": opencv,
}
ALL_METHODS = [*METHODS, GIMP]
OUR_METHODS = ("ours-rgb", "ours-lab", "ours-oklab")
#: Peers limited on images above --skip-slow-above-mp: one run, and only for K <= --slow-max-k.
SLOW_METHODS = ("sklearn-unique", "sklearn-unique-lab", "pillow-mediancut-kmeans", "opencv")
#: Our modes whose speed no target judges: one run on images above --skip-slow-above-mp.
ONCE_ON_LARGE = ("ours-lab", "ours-oklab")
SMOKE_METHODS = [OURS, "pillow-mediancut", "sklearn-unique"]
METHOD_NOTES = {
    OURS: f"`quantize(image, K, color_space='rgb', seed={SEED})` (our default)",
    "ours-lab": "the same with `color_space='lab'`",
    "ours-oklab": "the same with `color_space='oklab'`",
    "sklearn-unique": f"`KMeans(K, n_init=1, random_state={SEED})` on the unique colours with their counts "
    "as `sample_weight`; time includes dedupe (np.unique of 24-bit packed colours) and mapping back",
    "sklearn-unique-lab": "the same on the unique colours converted to CIELAB "
    "(`kmeans_quantize.colorspace.srgb_to_lab`), centres back to sRGB (`lab_to_srgb`, clipped)",
    "sklearn-1000px": f"scikit-learn's colour-quantization example: float pixels in [0, 1], `shuffle(..., "
    f"random_state={SEED}, n_samples={EXAMPLE_SAMPLE})`, `KMeans(K, random_state={SEED})`, `predict` on "
    "every pixel",
    "pillow-mediancut": "`Image.quantize(colors=K, method=MEDIANCUT, dither=NONE)`",
    "pillow-mediancut-kmeans": "the same with `kmeans=1` (refine until at most 0 pixels change)",
    "pillow-fastoctree": "`Image.quantize(colors=K, method=FASTOCTREE, dither=NONE)`",
    "imagequant": "`imagequant.quantize_pil_image(image, dithering_level=0.0, max_colors=K)`",
    "opencv": "`cv2.kmeans(float32 pixels, K, None, (EPS+MAX_ITER, 10, 1.0), 1, KMEANS_PP_CENTERS)` "
    f"after `cv2.setRNGSeed({SEED})`",
    GIMP: "GIMP 3 Image > Mode > Indexed, optimum palette, no dithering (`gimp_indexed.py`); time of "
    "the conversion only, measured inside GIMP",
}

# ---------------------------------------------------------------------------------------------
# Measuring


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


def _error_text(exc: BaseException) -> str:
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
                row.status, row.note = "error", _error_text(exc)
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
            result = _error_text(exc)
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
                peaks[k] = f"memory child failed: {_error_text(exc)} {stderr.strip()[-300:]}"
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
                progress(f"warm-up: {name} failed: {_error_text(exc)}")


# ---------------------------------------------------------------------------------------------
# Report


def _table_text(text: str, limit: int = 90) -> str:
    """Text safe inside a Markdown table cell, cut to ``limit`` characters."""
    flat = " ".join(text.replace("|", "/").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _bold_if(text: str, condition: bool) -> str:
    return f"**{text}**" if condition else text


def ratio_text(peer: Row, our: Row | None) -> str:
    """Peer time over ours-rgb time, e.g. "6.6×" (above 1: ours is faster)."""
    if our is None or our.seconds is None or peer.seconds is None:
        return "–"
    ratio = peer.seconds / our.seconds
    if ratio >= 10:
        return f"{ratio:.1f}×"
    return f"{ratio:.2f}×" if ratio >= 0.1 else f"{ratio:.2g}×"


def _cells(
    row: Row | None, our: Row | None, best_mse: float | None, best_de: float | None, repeat: int
) -> list[str]:
    """The five cells of one method and K: time, MSE, PSNR, CIEDE2000, ratio (or peak memory)."""
    if row is None:
        return ["–"] * 5
    if row.status != "ok":
        return [f"{row.status}: {_table_text(row.note, 70)}", "–", "–", "–", "–"]
    seconds = "–" if row.seconds is None else f"{row.seconds:.3f}"
    if len(row.times) < repeat:
        seconds += "†"
    if row.mse is None or row.psnr is None or row.delta_e is None:
        return [seconds, "–", "–", "–", "–"]
    if row.method == OURS:
        last = "–" if row.peak_mb is None else f"peak {row.peak_mb:,.0f} MB"
    else:
        last = ratio_text(row, our)
    return [
        seconds,
        _bold_if(f"{row.mse:.2f}", row.mse == best_mse),
        f"{row.psnr:.2f}",
        _bold_if(f"{row.delta_e:.3f}", row.delta_e == best_de),
        last,
    ]


def image_table(rows: list[Row], ks: list[int], methods: list[str], repeat: int) -> list[str]:
    """Markdown table of one image: a row per method, five columns per K."""
    by_key = {(row.method, row.k): row for row in rows}
    head = ["method"]
    for k in ks:
        head += [f"K={k} s", "MSE", "PSNR", "ΔE00", "vs ours-rgb"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    best: dict[int, tuple[float | None, float | None]] = {}
    for k in ks:
        scored = [row for row in rows if row.k == k and row.mse is not None and row.status == "ok"]
        best[k] = (
            min((row.mse for row in scored if row.mse is not None), default=None),
            min((row.delta_e for row in scored if row.delta_e is not None), default=None),
        )
    for method in methods:
        name = f"**{method}**" if method in OUR_METHODS else method
        cells = [name]
        for k in ks:
            cells += _cells(by_key.get((method, k)), by_key.get((OURS, k)), *best[k], repeat)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


@dataclass
class Check:
    """One target on one image and K: PASS, FAIL or n/a, and the figures behind it."""

    verdict: str
    detail: str

    def cell(self) -> str:
        return f"{self.verdict} ({self.detail})" if self.detail else self.verdict


NA = Check("n/a", "")


def _combine(parts: list[tuple[bool | None, str]]) -> Check:
    """PASS if every comparison that could be made passed, FAIL if one failed, else n/a."""
    made = [(passed, text) for passed, text in parts if passed is not None]
    if not made:
        return Check("n/a", "; ".join(text for _, text in parts))
    verdict = "PASS" if all(passed for passed, _ in made) else "FAIL"
    return Check(verdict, "; ".join(text for _, text in parts))


def check_quality(group: dict[str, Row]) -> Check:
    """Target 1: ours-rgb MSE <= the best peer's MSE."""
    our = group.get(OURS)
    peers = [row for name, row in group.items() if name not in OUR_METHODS and row.mse is not None]
    if our is None or our.mse is None or not peers:
        return NA
    best = min(peers, key=lambda row: row.mse or 0.0)
    assert best.mse is not None
    gap = (our.mse / best.mse - 1.0) * 100.0
    text = f"{our.mse:.3f} vs {best.method} {best.mse:.3f}, {gap:+.1f} %"
    skipped = [name for name, row in group.items() if row.status == "skipped"]
    if skipped:
        text += f"; not run here: {', '.join(skipped)}"
    return _combine([(our.mse <= best.mse, text)])


#: Target 2 applies to images of at least this many megapixels.
SPEED_TARGET_MIN_MP = 4.0
#: Target 2: the largest allowed ratio of our time to imagequant's, per K.
IMAGEQUANT_TIME_SHARE = {64: 0.5, 256: 1.0}
SKLEARN_SPEEDUP = 20.0


def check_speed(group: dict[str, Row], megapixels: float, k: int) -> Check:
    """Target 2 (images >= 4 MP): vs imagequant at K=64 and 256, and >= 20x faster than sklearn-unique."""
    our = group.get(OURS)
    if megapixels < SPEED_TARGET_MIN_MP or our is None or our.seconds is None:
        return NA
    parts: list[tuple[bool | None, str]] = []
    quant = group.get("imagequant")
    if k in IMAGEQUANT_TIME_SHARE:
        share = IMAGEQUANT_TIME_SHARE[k]
        if quant is not None and quant.seconds is not None:
            parts.append(
                (
                    our.seconds <= share * quant.seconds,
                    f"ours {our.seconds:.2f} s vs imagequant {quant.seconds:.2f} s, need ≤ {share:g}×",
                )
            )
        else:
            parts.append((None, "imagequant not measured"))
    sk = group.get("sklearn-unique")
    if sk is not None and sk.seconds is not None:
        speedup = sk.seconds / our.seconds
        parts.append(
            (
                speedup >= SKLEARN_SPEEDUP,
                f"{speedup:.1f}× faster than sklearn-unique, need ≥ {SKLEARN_SPEEDUP:g}×",
            )
        )
    return _combine(parts) if parts else NA


def check_perceptual(group: dict[str, Row], mine: str) -> Check:
    """Target 3, for ours-lab or ours-oklab: CIEDE2000 <= gimp-indexed's and <= sklearn-unique-lab's."""
    our = group.get(mine)
    if our is None or our.delta_e is None:
        return NA
    parts: list[tuple[bool | None, str]] = []
    for peer_name in (GIMP, "sklearn-unique-lab"):
        peer = group.get(peer_name)
        if peer is not None and peer.delta_e is not None:
            parts.append(
                (our.delta_e <= peer.delta_e, f"{our.delta_e:.3f} vs {peer_name} {peer.delta_e:.3f}")
            )
    return _combine(parts) if parts else NA


MEMORY_TARGET = (HUGE_NAME, 256)


def check_memory(group: dict[str, Row], image: str, k: int) -> Check:
    """Target 4: ours-rgb peak below 1.5 GB on the 24 MP image at K=256."""
    our = group.get(OURS)
    if (image, k) != MEMORY_TARGET or our is None or our.peak_mb is None:
        return NA
    limit = LIMIT_BYTES / MB
    return _combine([(our.peak_mb < limit, f"peak {our.peak_mb:,.0f} MB, limit {limit:,.0f} MB")])


def summary(rows: list[Row], images: list[LoadedImage], ks: list[int]) -> list[str]:
    """Markdown table of the four targets per image and K, and PASS/FAIL counts."""
    groups: dict[tuple[str, int], dict[str, Row]] = {}
    for row in rows:
        groups.setdefault((row.image, row.k), {})[row.method] = row
    labels = [
        "1 quality: ours-rgb MSE",
        "2 speed (≥ 4 MP)",
        "3 perceptual: ours-lab ΔE00",
        "3 perceptual: ours-oklab ΔE00",
        "4 memory (24 MP, K=256)",
    ]
    lines = ["| image | K | " + " | ".join(labels) + " |", "|---|---:|" + "---|" * len(labels)]
    tally = {label: {"PASS": 0, "FAIL": 0} for label in labels}
    for image in images:
        for k in ks:
            group = groups.get((image.name, k))
            if group is None:
                continue
            checks = [
                check_quality(group),
                check_speed(group, image.megapixels, k),
                check_perceptual(group, "ours-lab"),
                check_perceptual(group, "ours-oklab"),
                check_memory(group, image.name, k),
            ]
            for label, check in zip(labels, checks, strict=True):
                if check.verdict in tally[label]:
                    tally[label][check.verdict] += 1
            lines.append(f"| {image.name} | {k} | " + " | ".join(check.cell() for check in checks) + " |")
    lines.append("")
    for label, counts in tally.items():
        lines.append(f"- target {label}: {counts['PASS']} PASS, {counts['FAIL']} FAIL (other cells n/a)")
    return lines


def peer_versions(gimp_facts: dict[str, Any]) -> str:
    """One line with the version of every peer library."""

    def version(package: str) -> str:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    parts = [f"Pillow {version('Pillow')}", f"scikit-image {version('scikit-image')}"]
    try:
        import imagequant

        liq = int(imagequant.lib.liq_version())
        liq_text = f"{liq // 10000}.{liq // 100 % 100}.{liq % 100}"
        parts.append(f"imagequant {version('imagequant')} (libimagequant {liq_text})")
    except Exception:  # not installed, or an old binding without liq_version
        parts.append(f"imagequant {version('imagequant')}")
    try:
        import cv2

        parts.append(f"OpenCV {cv2.__version__} ({cv2.getNumThreads()} threads)")
    except ImportError:
        parts.append("OpenCV not installed")
    facts = gimp_facts.get("facts") or {}
    if facts:
        parts.append(
            f"GIMP {facts.get('gimp_version', '?')} ({gimp_facts.get('gimp', '?')}; "
            f"num-processors {facts.get('num_processors', '?')})"
        )
    else:
        parts.append("GIMP: not run")
    parts.append(f"matplotlib {version('matplotlib')}")
    return "- peers: " + ", ".join(parts)


def conventions(settings: Settings) -> list[str]:
    """The rules the figures follow, as Markdown list lines."""
    return [
        "Conventions:",
        f"- time: wall seconds, median of {settings.repeat} run(s), methods interleaved in this process "
        "(each round runs every method once; the order alternates), uint8 RGB in, uint8 RGB out; "
        f"gimp-indexed: the conversion alone, timed inside GIMP, {settings.repeat} run(s)",
        f"- on images above {settings.slow_above_mp:g} MP the slow peers ({', '.join(SLOW_METHODS)}) run "
        f'once and only for K ≤ {settings.slow_max_k} ("skipped" otherwise), and '
        f"{' and '.join(ONCE_ON_LARGE)} (no target judges their speed) run once; such times are marked †",
        "- MSE: mean over pixels AND channels of the squared error on the 0-255 scale (some papers, e.g. "
        "Celebi, sum over the channels: 3× this); PSNR = 10 log10(255² / MSE); best MSE per image and K "
        "in bold",
        f"- ΔE00: mean CIEDE2000 (kmeans_quantize.metrics.mean_delta_e_2000); on images above "
        f"{DELTA_E_FULL_MAX_MP:g} MP over a fixed random sample of {DELTA_E_SAMPLE:,} pixels "
        f"(numpy default_rng({SEED}), without replacement, the same pixels for every method); best in bold",
        "- vs ours-rgb: the method's time / ours-rgb's time, i.e. how many times faster ours-rgb is "
        "(above 1: ours faster). The ours-rgb row shows instead its peak resident memory, measured "
        "in a fresh child process that loads the image from a .npy and runs quantize: VmHWM of the "
        "child, input array included, nothing subtracted; MB = 10^6 bytes. (Not ru_maxrss: Linux "
        "copies the parent's peak into a child's ru_maxrss at exec.)",
        "- no method dithers; methods:",
        *[f"  - {name}: {note}" for name, note in METHOD_NOTES.items() if name in settings.methods],
    ]


def report(
    rows: list[Row],
    images: list[LoadedImage],
    uniques: dict[str, int],
    settings: Settings,
    load_at_start: str,
    gimp_facts: dict[str, Any],
    notes: list[str],
    complete: bool,
) -> str:
    """The whole Markdown report."""
    facts = [line.replace("the two methods", "the methods") for line in machine_facts(load_at_start)]
    lines = ["# kmeans-quantize against its peers", ""]
    if not complete:
        lines += ["**Partial report: the run is still going (or was interrupted).**", ""]
    lines += [*facts, peer_versions(gimp_facts), "", *conventions(settings), "", "## Results", ""]
    methods = [name for name in ALL_METHODS if name in settings.methods]
    for image in images:
        image_rows = [row for row in rows if row.image == image.name]
        if not image_rows:
            continue
        height, width = image.pixels.shape[:2]
        lines += [
            f"### {image.name}: {width}x{height} ({image.megapixels:.2f} MP), "
            f"{uniques[image.name]:,} unique colours",
            "",
            f"Source: {image.source}.",
            "",
            *image_table(image_rows, settings.ks, methods, settings.repeat),
            "",
        ]
    lines += [
        "## Targets (ours-rgb unless named; no dithering)",
        "",
        "1. Quality: ours-rgb MSE ≤ the best peer's MSE (any peer, sklearn-unique included).",
        f"2. Speed, on images ≥ {SPEED_TARGET_MIN_MP:g} MP: K=64 ours ≤ ½ imagequant's time; K=256 ours ≤ "
        "imagequant's; ours ≥ 20× faster than sklearn-unique (where it ran).",
        "3. Perceptual: ours-lab and ours-oklab ΔE00 ≤ gimp-indexed's and ≤ sklearn-unique-lab's.",
        f"4. Memory: {HUGE_NAME} (24 MP) at K=256, ours-rgb peak < {LIMIT_BYTES / MB:,.0f} MB.",
        "",
        *summary(rows, images, settings.ks),
    ]
    if notes:
        lines += ["", "## Notes", "", *notes]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Plots


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def method_styles(methods: list[str]) -> dict[str, dict[str, Any]]:
    """Marker, colour and size per method; ours stand out (large, red shades, black edge)."""
    plt = _pyplot()
    palette = plt.get_cmap("tab10").colors
    markers = "osD^v<>ph*X"
    our_colours = {"ours-rgb": "#d62728", "ours-lab": "#ff7f0e", "ours-oklab": "#8c564b"}
    styles: dict[str, dict[str, Any]] = {}
    peers = [name for name in methods if name not in OUR_METHODS]
    for name in methods:
        if name in OUR_METHODS:
            styles[name] = {
                "marker": "*",
                "color": our_colours[name],
                "s": 180,
                "edgecolors": "black",
                "zorder": 3,
            }
        else:
            index = peers.index(name)
            styles[name] = {
                "marker": markers[index % len(markers)],
                "color": palette[index % 10],
                "s": 40,
                "zorder": 2,
            }
    return styles


def save_figure(figure: Any, path: Path) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    write_atomic(path, buffer.getvalue())


def pareto_plot(rows: list[Row], images: list[LoadedImage], settings: Settings, path: Path) -> None:
    """A grid of panels (image × K): MSE against time (log), one marker per method."""
    plt = _pyplot()
    names = [image.name for image in images if any(row.image == image.name for row in rows)]
    methods = [name for name in ALL_METHODS if name in settings.methods]
    styles = method_styles(methods)
    columns = len(settings.ks)
    figure, axes = plt.subplots(
        len(names),
        columns,
        figsize=(max(8.0, 4.2 * columns), 3.0 * len(names) + 1.2),
        squeeze=False,
        layout="constrained",
    )
    from matplotlib.ticker import FormatStrFormatter, NullFormatter

    no_labels, plain = NullFormatter(), FormatStrFormatter("%g")
    for i, name in enumerate(names):
        for j, k in enumerate(settings.ks):
            axis = axes[i][j]
            for row in rows:
                if row.image == name and row.k == k and row.seconds is not None and row.mse is not None:
                    axis.scatter([row.seconds], [row.mse], label=row.method, **styles[row.method])
            axis.set_xscale("log")
            axis.set_yscale("log")
            axis.xaxis.set_minor_formatter(no_labels)
            axis.yaxis.set_major_formatter(plain)
            axis.yaxis.set_minor_formatter(plain)
            axis.set_title(f"{name}, K={k}", fontsize=9)
            axis.tick_params(which="both", labelsize=7)
            axis.grid(True, which="both", alpha=0.3)
            if j == 0:
                axis.set_ylabel("MSE (0-255, per channel; log)", fontsize=8)
            if i == len(names) - 1:
                axis.set_xlabel("time (s, log)", fontsize=8)
    handles = [
        plt.Line2D(
            [],
            [],
            linestyle="",
            marker=style["marker"],
            color=style["color"],
            markeredgecolor=style.get("edgecolors", style["color"]),
            markersize=10 if name in OUR_METHODS else 6,
            label=name,
        )
        for name, style in styles.items()
        if any(row.method == name and row.seconds is not None and row.mse is not None for row in rows)
    ]
    figure.suptitle("MSE against time per image and K: lower left is better; stars are ours", fontsize=11)
    width = figure.get_size_inches()[0]
    figure.legend(
        handles=handles, loc="outside lower center", ncol=min(len(handles), int(width // 2)), fontsize=8
    )
    save_figure(figure, path)
    plt.close(figure)


STRIP_IMAGE = "china.jpg"
STRIP_K = 16
#: Top-left corner (x, y) and side of the crop shown in the strip: roof edge, sky and lake.
STRIP_CROP = (230, 140, 160)


def strip_plot(crops: dict[str, RGBImage], title: str, path: Path) -> None:
    """The original crop and each method's output side by side, labelled."""
    plt = _pyplot()
    columns = min(7, len(crops))
    lines = math.ceil(len(crops) / columns)
    figure, axes = plt.subplots(lines, columns, figsize=(2.0 * columns, 2.25 * lines + 0.4), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, (label, crop) in zip(axes.flat, crops.items(), strict=False):
        axis.imshow(crop, interpolation="nearest")
        axis.set_title(label, fontsize=8)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    save_figure(figure, path)
    plt.close(figure)


# ---------------------------------------------------------------------------------------------
# Output and main


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write a file through a temporary file in the same folder and ``os.replace``."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(payload)
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; give it a normal file's mode
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def crop_for_strip(image: RGBImage) -> RGBImage:
    """The strip's crop of an image (moved inside, and shrunk to, a smaller image)."""
    x, y, side = STRIP_CROP
    height, width = image.shape[:2]
    side = min(side, height, width)
    x, y = min(x, width - side), min(y, height - side)
    return image[y : y + side, x : x + side].copy()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--images",
        nargs="+",
        choices=list(IMAGES),
        default=DEFAULT_IMAGES,
        metavar="NAME",
        help=f"images to run (default all but {SMOKE_NAME}): {', '.join(IMAGES)}",
    )
    parser.add_argument(
        "-k", nargs="+", type=int, default=[16, 64, 256], help="palette sizes, 2-256 (16 64 256)"
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=ALL_METHODS,
        default=ALL_METHODS,
        metavar="METHOD",
        help=f"methods to run (default all): {', '.join(ALL_METHODS)}",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per method; the median is reported (3)")
    parser.add_argument(
        "--skip-slow-above-mp",
        type=float,
        default=3.0,
        metavar="X",
        help="on images above X megapixels the slow peers run once and only for K <= "
        "--slow-max-k (default 3; 'inf' never limits them)",
    )
    parser.add_argument(
        "--slow-max-k",
        type=int,
        default=16,
        metavar="K",
        help="largest K for the slow peers on images above --skip-slow-above-mp (16)",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory child processes")
    parser.add_argument("--no-gimp", action="store_true", help="do not start GIMP")
    parser.add_argument(
        "--out-dir", type=Path, default=HERE / "results", help="output folder (benchmarks/results)"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"{SMOKE_NAME}, K=16, one run, {', '.join(SMOKE_METHODS)}; no memory child, no GIMP",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.images, args.k, args.repeat, args.methods = [SMOKE_NAME], [16], 1, SMOKE_METHODS
        args.no_memory = args.no_gimp = True
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if any(not 2 <= k <= 256 for k in args.k):
        parser.error("every K must be 2..256 (the limit of the palette-based peers)")
    args.methods = [name for name in ALL_METHODS if name in args.methods]
    if OURS not in args.methods:
        args.methods.insert(0, OURS)  # every ratio and target refers to it
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = Settings(
        ks=list(args.k),
        methods=args.methods,
        repeat=args.repeat,
        slow_above_mp=args.skip_slow_above_mp,
        slow_max_k=args.slow_max_k,
        memory=not args.no_memory,
        gimp=not args.no_gimp and GIMP in args.methods,
    )
    started = time.perf_counter()
    load_at_start = load_average()
    notes: list[str] = []
    images: list[LoadedImage] = []
    uniques: dict[str, int] = {}
    for name in args.images:
        progress(f"loading {name} ...")
        try:
            pixels, source = IMAGES[name]()
        except Exception as exc:  # an image that cannot be had (no network, ...) is skipped
            notes.append(f"- {name}: skipped, could not be loaded ({_table_text(_error_text(exc), 400)})")
            progress(notes[-1])
            continue
        images.append(LoadedImage(name, np.ascontiguousarray(pixels, dtype=np.uint8), source))
        uniques[name] = count_colors(images[-1].pixels)

    gimp_facts: dict[str, Any] = {}
    gimp, gimp_outputs = (
        ({}, {}) if GIMP not in settings.methods else run_gimp(images, uniques, settings, gimp_facts)
    )
    reasons = {row.note for row in gimp.values() if row.status == "not run"}
    notes += [f"- gimp-indexed not run: {reason}" for reason in reasons]
    warm_up(settings.methods)

    rows: list[Row] = []
    crops: dict[str, RGBImage] = {}
    strip_source = next(
        (image for image in images if image.name == STRIP_IMAGE), images[0] if images else None
    )
    strip_k = STRIP_K if STRIP_K in settings.ks else min(settings.ks)
    out = args.out_dir

    def write_reports(complete: bool) -> None:
        text = report(rows, images, uniques, settings, load_at_start, gimp_facts, notes, complete)
        document = {
            "command": shlex.join(sys.orig_argv),
            "complete": complete,
            "images": {
                image.name: {"source": image.source, "shape": list(image.pixels.shape)} for image in images
            },
            "gimp": {key: value for key, value in gimp_facts.items() if key != "palette_colors"},
            "rows": [row.as_json() for row in rows],
            "notes": notes,
        }
        write_atomic(out / "peers.md", text)
        write_atomic(out / "peers.json", json.dumps(document, indent=1, allow_nan=False) + "\n")

    for number, image in enumerate(images, start=1):
        height, width = image.pixels.shape[:2]
        progress(
            f"[{number}/{len(images)}] {image.name}: {width}x{height}, "
            f"{uniques[image.name]:,} unique colours ({time.perf_counter() - started:.0f} s elapsed)"
        )
        sample = delta_e_sample(image)
        for k in settings.ks:
            strip = crops if image is strip_source and k == strip_k else None
            if strip is not None:
                strip["original"] = crop_for_strip(image.pixels)
            cell = bench_cell(image, uniques[image.name], k, settings, sample, strip)
            gimp_row = gimp.get((image.name, k))
            if gimp_row is not None:
                output = gimp_outputs.pop((image.name, k), None)
                if output is not None:
                    try:
                        score(gimp_row, image.pixels, output, sample)
                        if strip is not None:
                            strip[GIMP] = crop_for_strip(output)
                    except Exception as exc:  # a malformed GIMP result is that cell's error
                        gimp_row.status, gimp_row.note = "error", _error_text(exc)
                cell.append(gimp_row)
            rows.extend(cell)
        if settings.memory:
            peaks = peak_memory(image.pixels, settings.ks)
            for row in rows:
                if row.image == image.name and row.method == OURS:
                    peak = peaks[row.k]
                    if isinstance(peak, str):
                        row.note = (row.note + "; " if row.note else "") + peak
                    else:
                        row.peak_mb = peak
        write_reports(complete=False)

    write_reports(complete=True)
    if strip_source is not None and crops:
        ordered = {"original": crops.pop("original")}
        ordered.update({name: crops[name] for name in ALL_METHODS if name in crops})
        side = ordered["original"].shape[0]
        title = f"{strip_source.name}, K={strip_k}: a {side}x{side} px crop, no dithering"
        strip_plot(ordered, title, out / "peers-strip.png")
    pareto_plot(rows, images, settings, out / "peers-pareto.png")
    progress(f"done in {time.perf_counter() - started:.0f} s; wrote {out}/peers.md, peers.json, *.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
