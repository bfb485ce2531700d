"""The peers: each quantizer as a function of (uint8 RGB image, K) -> uint8 RGB image, with
how it is configured (``METHOD_NOTES``) and which versions ran.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import importlib.util
from collections.abc import Callable
from typing import Any

import numpy as np
from kmeans_quantize import quantize
from kmeans_quantize.colorspace import lab_to_srgb, srgb_to_lab
from PIL import Image
from sklearn.cluster import KMeans
from sklearn.utils import shuffle

from benchlib.data import RGBImage

SEED = 0

Quantizer = Callable[[RGBImage, int], RGBImage]


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
    quantized: RGBImage = palette[fitted.labels_[inverse.reshape(-1)]].reshape(image.shape)
    return quantized


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
    quantized: RGBImage = palette[fitted.predict(pixels)].reshape(image.shape)
    return quantized


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
    quantized: RGBImage = palette[labels.reshape(-1)].reshape(image.shape)
    return quantized


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
