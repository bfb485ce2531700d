"""Reading and writing image files with Pillow (imported lazily: the core does not need it)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from numpy.typing import NDArray

from .files import atomic_write
from .palette import Palette
from .pixels import from_unit, max_value, to_unit

__all__ = [
    "ImageFileError",
    "read_image",
    "write_image",
    "write_indexed",
    "check_indexable",
    "INDEXED_FORMATS",
]

#: Formats that can hold a palette (P-mode) image.
INDEXED_FORMATS = ("PNG", "GIF")
#: Formats whose several frames make an animation (read_image refuses those).
ANIMATION_FORMATS = ("GIF", "PNG", "WEBP")


class ImageFileError(ValueError):
    """An image file that cannot be read or written, said in one line."""


def read_image(path: Path) -> NDArray[Any]:
    """Read ``path`` as a numpy array quantize accepts.

    8-bit images come back as uint8 gray, gray + alpha, RGB or RGBA; 16-bit
    PNG/TIFF as uint16 (colour ones through pypng and tifffile: Pillow has no
    16-bit RGB mode); 32-bit float gray TIFF as float32. Palette, CMYK and
    other modes are converted to RGB (RGBA if they carry alpha). Of a
    multi-page TIFF, the first page is read; animations (GIF, PNG, WebP) are
    refused rather than cut to their first frame.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            if getattr(image, "is_animated", False) and image.format in ANIMATION_FORMATS:
                raise ImageFileError(
                    f"{path}: an animation ({image.n_frames} frames) cannot be quantized as one image; "
                    "quantize its frames as separate images (with --shared-palette for one palette)"
                )
            deep = _read_deep_color(path, image)
            if deep is not None:
                return deep
            image.load()
            mode = image.mode
            if mode in ("I;16", "I;16B", "I;16L"):
                return np.asarray(image, dtype=np.uint16)
            if mode == "F":
                return np.asarray(image, dtype=np.float32)
            if mode not in ("L", "LA", "RGB", "RGBA"):
                has_alpha = "A" in image.getbands() or "transparency" in image.info
                image = image.convert("RGBA" if has_alpha else "RGB")
            return np.asarray(image)
    except FileNotFoundError:
        raise ImageFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageFileError(f"{path}: is a folder, not an image") from None
    except UnidentifiedImageError:
        raise ImageFileError(f"{path}: not an image file Pillow can read") from None
    except OSError as error:
        raise ImageFileError(f"{path}: cannot read: {error}") from None


def _read_deep_color(path: Path, image: Any) -> NDArray[np.uint16] | None:
    """A 16-bit RGB(A) PNG or TIFF as uint16, or None for any other image."""
    if image.format == "PNG":
        with open(path, "rb") as handle:
            header = handle.read(26)
        # IHDR: bit depth at byte 24, colour type at 25 (2 = RGB, 6 = RGBA).
        if header[24] != 16 or header[25] not in (2, 6):
            return None
        import png  # pypng: pure Python, imported only for this case

        width, height, rows, info = png.Reader(filename=str(path)).asDirect()
        channels = info["planes"]
        return np.vstack([np.asarray(row, dtype=np.uint16) for row in rows]).reshape(height, width, channels)
    if image.format == "TIFF" and image.tag_v2.get(258, (8,))[0] == 16 and image.tag_v2.get(277, 1) in (3, 4):
        import tifffile

        pixels: NDArray[np.uint16] = np.asarray(tifffile.imread(path), dtype=np.uint16)
        return pixels
    return None


def output_format(path: Path) -> str:
    """Pillow's format name for the suffix of ``path``."""
    from PIL import Image

    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ImageFileError(
            f"{path}: unknown image format {path.suffix!r}; use .png, .jpg, .bmp, .tif, .webp, .gif, ..."
        )
    return fmt


def _save(image: Any, path: Path, fmt: str, **options: Any) -> None:
    try:
        atomic_write(path, lambda handle: image.save(handle, format=fmt, **options))
    except OSError as error:
        raise ImageFileError(f"{path}: cannot write: {error}") from None


def write_image(pixels: NDArray[Any], path: Path) -> None:
    """Write ``pixels`` to ``path`` (format from the suffix), atomically.

    Alpha is dropped for formats without it (JPEG, BMP); 16-bit gray is kept
    where the format stores it (PNG, TIFF) and reduced to 8 bits elsewhere.
    Floats (in [0, 1]) are kept in TIFF, stored with 16 bits in PNG and 8
    bits elsewhere.
    """
    from PIL import Image

    fmt = output_format(path)
    if pixels.dtype.kind == "f" and fmt != "TIFF":
        pixels = from_unit(pixels, np.dtype(np.uint16 if fmt == "PNG" else np.uint8))
    if pixels.dtype == np.uint16 and fmt not in ("PNG", "TIFF"):
        pixels = from_unit(to_unit(pixels, pixels.dtype), np.dtype(np.uint8))
    if pixels.dtype == np.uint16 and pixels.ndim == 3 and pixels.shape[2] in (3, 4):
        _write_deep_color(pixels, path, fmt)
        return
    image = Image.fromarray(pixels)
    if image.mode in ("RGBA", "LA") and fmt in ("JPEG", "BMP"):
        image = image.convert(image.mode[:-1])
    _save(image, path, fmt)


def _write_deep_color(pixels: NDArray[np.uint16], path: Path, fmt: str) -> None:
    """16-bit RGB(A) as PNG (pypng) or TIFF (tifffile), atomically."""
    height, width, channels = pixels.shape

    def write_png(handle: BinaryIO) -> None:
        import png

        writer = png.Writer(width=width, height=height, bitdepth=16, greyscale=False, alpha=channels == 4)
        writer.write(handle, pixels.reshape(height, width * channels))

    def write_tiff(handle: BinaryIO) -> None:
        import tifffile

        # tifffile wants a named file or a seekable buffer, not a bare descriptor.
        buffer = io.BytesIO()
        tifffile.imwrite(buffer, pixels, photometric="rgb")
        handle.write(buffer.getvalue())

    try:
        atomic_write(path, write_png if fmt == "PNG" else write_tiff)
    except OSError as error:
        raise ImageFileError(f"{path}: cannot write: {error}") from None


def check_indexable(alpha: NDArray[Any] | None, path: Path) -> None:
    """Raise :class:`ImageFileError` unless every pixel is fully transparent or fully opaque.

    An indexed image stores one colour per pixel and at most one transparent
    entry, so ``alpha`` (None: no alpha) must hold only 0 and its maximum.
    """
    if alpha is not None and np.any((alpha != 0) & (alpha != max_value(alpha.dtype))):
        raise ImageFileError(
            f"{path}: partial transparency cannot be stored in an indexed image "
            "(only fully transparent or fully opaque pixels); write it without --indexed"
        )


def write_indexed(labels: NDArray[np.intp], palette: Palette, alpha: NDArray[Any] | None, path: Path) -> None:
    """Write a palette-based (P-mode) PNG or GIF: one byte per pixel.

    ``labels`` are palette indices (-1 for pixels that were not quantized,
    which must be exactly the fully transparent ones); those get one extra,
    transparent palette entry. Partial transparency cannot be stored.
    """
    from PIL import Image

    fmt = output_format(path)
    if fmt not in INDEXED_FORMATS:
        raise ImageFileError(f"{path}: indexed output needs .png or .gif, not {path.suffix!r}")
    colors = from_unit(to_unit(palette.colors, palette.colors.dtype), np.dtype(np.uint8))
    if colors.shape[1] == 1:
        colors = np.repeat(colors, 3, axis=1)
    unquantized = labels < 0
    if alpha is not None and not np.array_equal(unquantized, alpha == 0):
        raise ValueError("labels must be -1 exactly where alpha is 0")
    check_indexable(alpha, path)
    n_entries = len(colors) + int(unquantized.any())
    if n_entries > 256:
        raise ImageFileError(
            f"{path}: an indexed image holds at most 256 colours, this one needs {n_entries}"
        )
    indices = np.where(unquantized, len(colors), labels).astype(np.uint8)
    height, width = indices.shape
    image = Image.frombytes("P", (width, height), indices.tobytes())
    table = np.zeros((n_entries, 3), dtype=np.uint8)
    table[: len(colors)] = colors
    image.putpalette(table.ravel().tolist())
    options = {"transparency": len(colors)} if unquantized.any() else {}
    _save(image, path, fmt, **options)
