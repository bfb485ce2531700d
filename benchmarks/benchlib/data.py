"""Benchmark images: scikit-learn's and scikit-image's sample photos, photo-like upscales,
wallpapers fetched from Debian packages, and how to describe them.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import importlib.util
import math
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from sklearn.datasets import load_sample_image

BENCHMARKS = Path(__file__).resolve().parent.parent
CACHE = BENCHMARKS / "cache"

#: Standard deviation of the Gaussian noise added to upscaled photos, in 8-bit steps.
NOISE_SIGMA = 2.0

NOISE_SEED = 0

#: Rows of noise drawn at a time; part of the definition of the image (it fixes the draw order).
NOISE_BLOCK_ROWS = 256

#: Aspect ratio (width / height) of the generated image: a 3:2 camera frame.
ASPECT = 1.5

RGBImage = NDArray[np.uint8]

LARGE_NAME = "china_12mp"

LARGE_SIZE = (4240, 2832)

SMOKE_NAME = "flower_small"

SMOKE_SIZE = (160, 107)

HUGE_NAME = "china_24mp"

HUGE_SIZE = (6000, 4000)

WALLPAPER_PACKAGES = ("ukui-wallpapers", "gnome-backgrounds")

#: Files considered in a wallpaper package, and the least width of the one picked.
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")

MIN_WALLPAPER_WIDTH = 3840

#: Seconds allowed for downloading one package, and for one memory child.
DOWNLOAD_TIMEOUT = 900


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


def count_colors(image: NDArray[np.uint8]) -> int:
    """Number of distinct RGB colours in an 8-bit image."""
    flat = image.reshape(-1, 3).astype(np.uint32)
    packed = (flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]
    return int(np.unique(packed).size)


def _skimage_photo(name: str) -> Callable[[], RGBImage]:
    def load() -> RGBImage:
        # scikit-image is loaded by name and untyped: its photos are 8-bit RGB arrays
        photo: RGBImage = getattr(importlib.import_module("skimage.data"), name)()
        return photo

    return load


SPEED_IMAGES: dict[str, Callable[[], RGBImage]] = {
    "china.jpg": lambda: load_sample_image("china.jpg"),
    "flower.jpg": lambda: load_sample_image("flower.jpg"),
    "astronaut": _skimage_photo("astronaut"),
    "coffee": _skimage_photo("coffee"),
    "chelsea": _skimage_photo("chelsea"),
    "rocket": _skimage_photo("rocket"),
    LARGE_NAME: lambda: photo_like(load_sample_image("china.jpg"), *LARGE_SIZE),
}


@dataclass
class LoadedImage:
    """An image of the benchmark and one line saying where it comes from."""

    name: str
    pixels: RGBImage
    source: str

    @property
    def megapixels(self) -> float:
        megapixels: float = self.pixels.shape[0] * self.pixels.shape[1] / 1e6
        return megapixels


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


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
