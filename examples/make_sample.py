"""Make the sample image this repository ships, and the before/after strip for the README.

``examples/sample.png`` is a synthetic, photo-like landscape (sky gradient, sun, clouds,
mountains, shaded hills, a lake, a house and trees, mild noise) drawn with numpy alone, so
that it has thousands of distinct colours without shipping anyone's photograph. It is
deterministic: the same numpy gives the same file.

Usage, from anywhere::

    python examples/make_sample.py                  # writes examples/sample.png
    python examples/make_sample.py --before-after   # also sample-k8.png and before-after.png

``--before-after`` needs the package installed (``pip install -e .``): it quantizes the
image with ``kmeans_quantize.quantize(pixels, 8, seed=0)``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

WIDTH = 640
HEIGHT = 426
SEED = 20240601
GAP = 8  # pixels of white between the two halves of the before/after strip
K = 8

HERE = Path(__file__).resolve().parent

FloatImage = NDArray[np.float64]
Mask = NDArray[np.float64]


def _rgb(hex_colour: str) -> NDArray[np.float64]:
    """An ``"#rrggbb"`` colour as three floats in [0, 1].

    Parameters
    ----------
    hex_colour : str
        The colour, e.g. ``"#4a7fc1"``.

    Returns
    -------
    ndarray of float64, shape (3,)
    """
    value = hex_colour.lstrip("#")
    return np.array([int(value[i : i + 2], 16) / 255.0 for i in (0, 2, 4)])


def _coverage(signed_distance: NDArray[np.float64]) -> Mask:
    """Anti-aliased coverage of a shape from its signed distance in pixels (negative inside).

    Parameters
    ----------
    signed_distance : ndarray of float64
        Distance to the shape's edge, negative inside the shape.

    Returns
    -------
    ndarray of float64
        1 well inside, 0 well outside, a one-pixel linear ramp across the edge.
    """
    return np.clip(0.5 - signed_distance, 0.0, 1.0)


def _paint(image: FloatImage, coverage: Mask, colour: NDArray[np.float64] | FloatImage) -> None:
    """Blend ``colour`` over ``image`` in place where ``coverage`` > 0.

    Parameters
    ----------
    image : ndarray of float64, shape (H, W, 3)
        The canvas, values in [0, 1].
    coverage : ndarray of float64, shape (H, W)
        Opacity of the new paint, in [0, 1].
    colour : ndarray of float64, shape (3,) or (H, W, 3)
        One colour, or a colour per pixel.
    """
    alpha = coverage[..., None]
    image *= 1.0 - alpha
    image += alpha * colour


def _ridge(
    x: NDArray[np.float64], base: float, waves: list[tuple[float, float, float]]
) -> NDArray[np.float64]:
    """A skyline: ``base`` plus a sum of sine waves, as a height (row) for every column.

    Parameters
    ----------
    x : ndarray of float64
        Column coordinates.
    base : float
        Mean row of the skyline.
    waves : list of (amplitude, period, phase)
        Amplitude in pixels, period in pixels, phase in radians.

    Returns
    -------
    ndarray of float64
        The skyline row at each ``x`` (smaller is higher up).
    """
    height = np.full_like(x, base)
    for amplitude, period, phase in waves:
        height += amplitude * np.sin(2.0 * np.pi * x / period + phase)
    return height


def _hill(
    image: FloatImage,
    y: NDArray[np.float64],
    x: NDArray[np.float64],
    base: float,
    waves: list[tuple[float, float, float]],
    light: NDArray[np.float64],
    dark: NDArray[np.float64],
    depth: float,
) -> None:
    """Paint a hill: lit on slopes that face the sun (left-up), darker towards its foot.

    Parameters
    ----------
    image : ndarray of float64, shape (H, W, 3)
        The canvas, changed in place.
    y, x : ndarray of float64, shape (H, W)
        Row and column of every pixel.
    base, waves
        The hill's skyline, as for :func:`_ridge`.
    light, dark : ndarray of float64, shape (3,)
        Colours of the sunlit top and of the shaded foot.
    depth : float
        Rows over which the colour goes from ``light`` to ``dark``.
    """
    top = _ridge(x[0], base, waves)
    slope = np.gradient(top)  # > 0: the ground falls to the right, i.e. faces the sun on the left
    below = y - top[None, :]
    shade = np.clip(below / depth, 0.0, 1.0) ** 0.8
    lit = np.clip(0.5 + 0.9 * slope, 0.0, 1.0)[None, :]
    t = np.clip(0.85 * shade + 0.35 * (1.0 - lit), 0.0, 1.0)[..., None]
    colour = light * (1.0 - t) + dark * t
    _paint(image, _coverage(-below), colour)


def _blob(y: NDArray[np.float64], x: NDArray[np.float64], cy: float, cx: float, ry: float, rx: float) -> Mask:
    """A soft elliptical Gaussian bump, 1 at its centre.

    Parameters
    ----------
    y, x : ndarray of float64, shape (H, W)
        Row and column of every pixel.
    cy, cx : float
        Centre.
    ry, rx : float
        Standard deviations along the rows and the columns, in pixels.

    Returns
    -------
    ndarray of float64, shape (H, W)
    """
    return np.exp(-0.5 * (((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2))


def make_sample(width: int = WIDTH, height: int = HEIGHT, seed: int = SEED) -> NDArray[np.uint8]:
    """Draw the sample landscape.

    Parameters
    ----------
    width, height : int
        Size in pixels. The scene is laid out for 640 x 426; other sizes scale it.
    seed : int
        Seed of the noise (``numpy.random.default_rng``).

    Returns
    -------
    ndarray of uint8, shape (height, width, 3)
        An sRGB image.
    """
    scale = width / WIDTH
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    y, x = yy / scale, xx / scale  # scene coordinates: 640 wide
    image = np.zeros((height, width, 3))

    # Sky: deep blue at the top to a warm pale haze at the horizon, a glow around the sun.
    horizon = 250.0
    t = np.clip(y / horizon, 0.0, 1.0)[..., None] ** 1.4
    image[:] = _rgb("#2f5fa8") * (1.0 - t) + _rgb("#f2dcc0") * t
    sun_y, sun_x = 112.0, 470.0
    sun_distance = np.hypot(y - sun_y, x - sun_x)
    glow = np.exp(-sun_distance / 70.0)[..., None]
    image[:] = image * (1.0 - 0.55 * glow) + _rgb("#fff1c4") * 0.55 * glow
    _paint(image, _coverage(sun_distance - 26.0), _rgb("#fffbe8"))

    # Clouds: sums of soft blobs, white on top and grey-lilac underneath.
    for cy, cx, size in [(70.0, 150.0, 1.0), (128.0, 300.0, 0.7), (52.0, 585.0, 0.55)]:
        puff = np.zeros_like(y)
        for dy, dx, ry, rx in [(0, 0, 14, 48), (-10, -26, 13, 24), (-13, 14, 15, 26), (4, 46, 10, 28)]:
            puff = np.maximum(puff, _blob(y, x, cy + dy * size, cx + dx * size, ry * size, rx * size))
        underside = np.clip((y - cy + 6.0 * size) / (16.0 * size), 0.0, 1.0)[..., None]
        colour = _rgb("#ffffff") * (1.0 - underside) + _rgb("#c8c0cf") * underside
        _paint(image, np.clip(1.6 * puff - 0.35, 0.0, 0.92), colour)

    # Far mountains: bluish, hazier towards their foot, with snow on the highest peaks.
    mountain_waves = [(22.0, 260.0, 0.4), (12.0, 97.0, 1.9), (5.0, 41.0, 0.3)]
    top = _ridge(x[0], 190.0, mountain_waves)
    below = y - top[None, :]
    haze = np.clip(below / 70.0, 0.0, 1.0)[..., None]
    colour = _rgb("#6c7fa0") * (1.0 - haze) + _rgb("#b9c2cf") * haze
    _paint(image, _coverage(-below), colour)
    snow = _coverage(-below) * _coverage(y - 172.0) * np.clip(1.0 - below / 10.0, 0.0, 1.0)
    _paint(image, snow, _rgb("#eef1f6"))

    # Hills: a far, bluish-green one behind the lake and a near, warm green one in front of it.
    _hill(image, y, x, 232.0, [(18.0, 330.0, 2.2), (7.0, 120.0, 0.8)], _rgb("#7fa36b"), _rgb("#3f6a4a"), 60.0)

    # Lake, in front of the far hill: reflects the sky, darker towards the near shore, a glint under the sun.
    lake_top = 262.0 + 3.0 * np.sin(x / 37.0)
    lake = _coverage(lake_top - y) * _coverage(y - 360.0)
    depth = np.clip((y - 262.0) / 50.0, 0.0, 1.0)[..., None]
    water = _rgb("#a9c0d6") * (1.0 - depth) + _rgb("#4a6f93") * depth
    glint = (_blob(y, x, 272.0, sun_x, 6.0, 40.0) * (0.6 + 0.4 * np.sin(y * 1.7) ** 2))[..., None]
    water = water * (1.0 - glint) + _rgb("#fff4d6") * glint
    _paint(image, lake, water)
    _hill(
        image,
        y,
        x,
        318.0,
        [(26.0, 420.0, 4.1), (9.0, 150.0, 1.3), (3.0, 53.0, 0.2)],
        _rgb("#a8c45a"),
        _rgb("#2f5a26"),
        120.0,
    )

    # A path winding down the near hill.
    path_centre = 250.0 + 60.0 * np.sin((y - 300.0) / 45.0) + (y - 300.0) * 0.9
    path_half_width = 2.0 + (y - 300.0) * 0.12
    path = _coverage(np.abs(x - path_centre) - path_half_width) * _coverage(312.0 - y)
    _paint(image, path, _rgb("#cdb58a"))

    # A house: walls, a door, a window, a roof lit from the left.
    wall_left, wall_right, wall_top, wall_bottom = 360.0, 420.0, 290.0, 330.0
    wall = (
        _coverage(wall_left - x)
        * _coverage(x - wall_right)
        * _coverage(wall_top - y)
        * _coverage(y - wall_bottom)
    )
    _paint(image, wall, _rgb("#e8dcc4"))
    _paint(image, wall * _coverage(x - (wall_left + 16.0)), _rgb("#d6c9ae"))
    roof_peak_y, roof_cx, roof_half = 262.0, (wall_left + wall_right) / 2.0, 38.0
    roof_height = wall_top + 2.0 - roof_peak_y
    roof_edge = roof_peak_y + roof_height * np.abs(x - roof_cx) / roof_half
    roof = _coverage(roof_edge - y) * _coverage(y - (wall_top + 2.0))
    roof_colour = np.where((x < roof_cx)[..., None], _rgb("#b5482f"), _rgb("#7d2f22"))
    _paint(image, roof, roof_colour)
    door = _coverage(372.0 - x) * _coverage(x - 384.0) * _coverage(308.0 - y) * _coverage(y - wall_bottom)
    _paint(image, door, _rgb("#5a3a24"))
    window = _coverage(396.0 - x) * _coverage(x - 410.0) * _coverage(300.0 - y) * _coverage(y - 312.0)
    _paint(image, window, _rgb("#f3d27a"))

    # Trees: a trunk and a round crown, lit from the upper left.
    for cx, base, radius in [
        (120.0, 350.0, 30.0),
        (172.0, 336.0, 20.0),
        (520.0, 340.0, 24.0),
        (560.0, 330.0, 16.0),
    ]:
        trunk = (
            _coverage(np.abs(x - cx) - radius * 0.12)
            * _coverage(base - radius * 1.2 - y)
            * _coverage(y - base)
        )
        _paint(image, trunk, _rgb("#4b3321"))
        crown_y = base - radius * 1.6
        distance = np.hypot(y - crown_y, x - cx)
        light = np.clip(((x - cx) + (y - crown_y)) / (2.2 * radius) + 0.5, 0.0, 1.0)[..., None]
        colour = _rgb("#6f9b3a") * (1.0 - light) + _rgb("#244719") * light
        _paint(image, _coverage(distance - radius), colour)

    # Texture and noise: low-frequency mottling on the grass, mild per-pixel grain everywhere.
    rng = np.random.default_rng(seed)
    grass = np.clip((y - 300.0) / 20.0, 0.0, 1.0)
    mottle = np.sin(x / 7.0 + 2.0 * np.sin(y / 11.0)) * np.sin(y / 5.0 + np.sin(x / 13.0))
    image *= (1.0 + 0.06 * grass * mottle)[..., None]
    image += rng.normal(0.0, 1.2 / 255.0, image.shape)
    return np.rint(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def before_after(
    original: NDArray[np.uint8], quantized: NDArray[np.uint8], gap: int = GAP
) -> NDArray[np.uint8]:
    """Put two images of the same size side by side, with a white gap between them.

    Parameters
    ----------
    original, quantized : ndarray of uint8, shape (H, W, 3)
        The left and right images.
    gap : int
        Width of the white gap in pixels.

    Returns
    -------
    ndarray of uint8, shape (H, 2 * W + gap, 3)
    """
    height = original.shape[0]
    spacer = np.full((height, gap, 3), 255, dtype=np.uint8)
    return np.concatenate([original, spacer, quantized], axis=1)


def save_png(pixels: NDArray[np.uint8], path: Path) -> None:
    """Write an RGB array as an optimised PNG and say so.

    Parameters
    ----------
    pixels : ndarray of uint8, shape (H, W, 3)
        The image.
    path : Path
        Where to write it.
    """
    Image.fromarray(pixels).save(path, optimize=True)
    print(f"wrote {path} ({pixels.shape[1]}x{pixels.shape[0]}, {path.stat().st_size // 1024} KiB)")


def main(argv: list[str] | None = None) -> None:
    """Command line: write sample.png, and with ``--before-after`` the K=8 result and the strip.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--before-after",
        action="store_true",
        help=f"also write sample-k{K}.png (quantize(pixels, {K}, seed=0)) and before-after.png",
    )
    parser.add_argument(
        "--out-dir", type=Path, default=HERE, help="folder to write into (default: this script's folder)"
    )
    args = parser.parse_args(argv)
    out_dir: Path = args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)

    pixels = make_sample()
    save_png(pixels, out_dir / "sample.png")
    if args.before_after:
        from kmeans_quantize import quantize

        result = quantize(pixels, K, seed=0)
        quantized = np.asarray(result.image, dtype=np.uint8)
        save_png(quantized, out_dir / f"sample-k{K}.png")
        save_png(before_after(pixels, quantized), out_dir / "before-after.png")


if __name__ == "__main__":
    main()
