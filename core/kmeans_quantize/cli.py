"""Command line: ``kmeans-quantize INPUT -k N -o OUTPUT``.

Pillow is imported here, lazily, and only for reading and writing files.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .quantize import MAX_COLORS, quantize
from .space import COLOR_SPACES


class UserError(Exception):
    """A mistake in the command line or the files, reported in one line."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kmeans-quantize",
        description="Reduce an image to K colours with k-means clustering.",
    )
    parser.add_argument("input", type=Path, help="image to read (PNG, JPEG, BMP, TIFF, WebP, GIF, ...)")
    parser.add_argument(
        "-k", "--colors", type=int, default=8, metavar="N", help="number of colours (default 8)"
    )
    parser.add_argument(
        "-o", "--output", type=Path, help="where to write (default: INPUT.kN.png beside the input)"
    )
    parser.add_argument(
        "--color-space", choices=COLOR_SPACES, default="rgb", help="space to cluster in (default rgb)"
    )
    parser.add_argument("--init", choices=("k-means++", "random"), default="k-means++")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0: repeatable results)")
    parser.add_argument("--max-iter", type=int, default=300, metavar="N")
    parser.add_argument("-f", "--force", action="store_true", help="overwrite OUTPUT if it exists")
    return parser


def _read(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            if mode in ("I;16", "I;16B", "I;16L"):
                return np.asarray(image, dtype=np.uint16)
            if mode == "F":
                # 32-bit float gray: kept as floats (quantize checks the [0, 1] range).
                return np.asarray(image, dtype=np.float32)
            if mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "1", "I"):
                has_alpha = "A" in image.getbands() or "transparency" in image.info
                image = image.convert("RGBA" if has_alpha else "RGB")
            return np.asarray(image)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except UnidentifiedImageError:
        raise UserError(f"{path}: not an image file Pillow can read") from None
    except OSError as error:
        raise UserError(f"{path}: cannot read: {error}") from None


def _write(pixels: np.ndarray, path: Path, force: bool) -> None:
    from PIL import Image

    if path.exists() and not force:
        raise UserError(f"{path}: already exists (use --force to overwrite)")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder")
    image = Image.fromarray(pixels)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise UserError(
            f"{path}: unknown image format {path.suffix!r}; use .png, .jpg, .bmp, .tif, .webp, ..."
        )
    if image.mode in ("RGBA", "LA") and fmt in ("JPEG", "BMP"):
        image = image.convert(image.mode[:-1])
    # Write to a temporary file in the same folder, then rename: an interrupted
    # run never leaves a half-written output behind.
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    os.close(handle)
    try:
        image.save(temporary, format=fmt)
        # mkstemp creates the file private (0600); give it the usual mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except OSError as error:
        raise UserError(f"{path}: cannot write: {error}") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if not 1 <= args.colors <= MAX_COLORS:
            raise UserError(f"-k must be between 1 and {MAX_COLORS}, got {args.colors}")
        if args.max_iter < 1:
            raise UserError(f"--max-iter must be at least 1, got {args.max_iter}")
        output = args.output or args.input.with_name(f"{args.input.stem}.k{args.colors}.png")
        if output.resolve() == args.input.resolve():
            raise UserError(f"{output}: refusing to overwrite the input image")
        pixels = _read(args.input)
        try:
            result = quantize(
                pixels,
                args.colors,
                color_space=args.color_space,
                init=args.init,
                max_iter=args.max_iter,
                seed=args.seed,
            )
        except ValueError as error:
            raise UserError(f"{args.input}: {error}") from None
        _write(result.image, output, args.force)
    except UserError as error:
        print(f"kmeans-quantize: error: {error}", file=sys.stderr)
        return 1
    print(f"{output}: {len(result.palette)} colours, {result.n_iter} iterations")
    return 0
