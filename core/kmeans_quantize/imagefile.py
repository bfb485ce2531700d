"""Reading and writing image files with Pillow (imported lazily: the core does not need it)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from numpy.typing import NDArray

from .files import atomic_write
from .palette import Palette
from .pixels import convert, from_unit, max_value, to_rgb8

__all__ = [
    "ImageFileError",
    "read_image",
    "write_image",
    "write_indexed",
    "check_indexable",
    "INDEXED_FORMATS",
    "DEFAULT_MAX_PIXELS",
]

#: Formats that can hold a palette (P-mode) image.
INDEXED_FORMATS = ("PNG", "GIF")
#: Formats whose several frames make an animation (read_image refuses those).
ANIMATION_FORMATS = ("GIF", "PNG", "WEBP")


class ImageFileError(ValueError):
    """An image file that cannot be read or written, said in one line."""


#: Largest image read_image opens by default, in pixels: 24 MP photos are common, and k-means on
#: 100 MP needs a few GB (memory grows about linearly: benchmarks/results/memory.md). A file whose
#: header claims more is refused before its pixels are decoded (a decompression bomb is a small
#: file claiming a huge size).
DEFAULT_MAX_PIXELS = 100_000_000

#: Pillow modes of 32-bit integer pixels: no defined white point, so no way to quantize them
#: without guessing their range.
_INT32_MODES = ("I", "I;32", "I;32B", "I;32L", "I;32S", "I;32BS", "I;32LS")


def read_image(
    source: Path | BinaryIO, *, max_pixels: int | None = DEFAULT_MAX_PIXELS, name: str | None = None
) -> NDArray[Any]:
    """Read an image file as a numpy array quantize accepts.

    8-bit images come back as uint8 gray, gray + alpha, RGB or RGBA; 16-bit
    PNG/TIFF as uint16 (colour ones through pypng and tifffile: Pillow has no
    16-bit RGB mode); 32-bit float gray TIFF as float32. Palette, CMYK and
    other modes are converted to RGB (RGBA if they carry alpha). Of a
    multi-page TIFF, the first page is read; animations (GIF, PNG, WebP) and
    32-bit integer images are refused.

    Parameters
    ----------
    source : Path or binary file
        The file, or an open binary stream (for example standard input, read into
        a :class:`io.BytesIO`: it must be seekable).
    max_pixels : int or None
        Refuse an image of more pixels than this (width x height) before decoding it;
        None: no limit.
    name : str, optional
        What error messages call the image (default: ``source`` as a path).
    """
    from PIL import Image, UnidentifiedImageError

    label = name if name is not None else str(source)
    # Pillow's own bomb check warns above one limit and raises above twice it; ours replaces it
    # with one limit and one message, so it is switched off while the header is read.
    pillow_limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with Image.open(source) as image:
            _check_size(image.size, max_pixels, label)
            if getattr(image, "is_animated", False) and image.format in ANIMATION_FORMATS:
                frames = getattr(image, "n_frames", "several")
                raise ImageFileError(
                    f"{label}: an animation ({frames} frames) cannot be quantized as one image; "
                    "quantize its frames as separate images (with --shared-palette for one palette)"
                )
            deep = _read_deep_color(source, image)
            if deep is not None:
                return deep
            return _pixels_of(image, label)
    except FileNotFoundError:
        raise ImageFileError(f"{label}: no such file") from None
    except IsADirectoryError:
        raise ImageFileError(f"{label}: is a folder, not an image") from None
    except UnidentifiedImageError:
        raise ImageFileError(f"{label}: not an image file Pillow can read") from None
    except OSError as error:
        raise ImageFileError(f"{label}: cannot read: {error}") from None
    except MemoryError:
        raise ImageFileError(f"{label}: not enough memory to read it") from None
    finally:
        Image.MAX_IMAGE_PIXELS = pillow_limit


def _pixels_of(image: Any, label: str) -> NDArray[Any]:
    """The pixels of an opened Pillow image that is not deep colour, by its mode."""
    image.load()
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L") or (mode == "I" and image.format == "PNG"):
        return np.asarray(image, dtype=np.uint16)  # older Pillows open 16-bit gray PNG as "I"
    if mode in _INT32_MODES:
        raise ImageFileError(
            f"{label}: 32-bit integer pixels are not supported (they have no defined white); "
            "save the image with 8 or 16 bits per channel, or as 32-bit float"
        )
    if mode == "F":
        return np.asarray(image, dtype=np.float32)
    if mode not in ("L", "LA", "RGB", "RGBA"):
        has_alpha = "A" in image.getbands() or "transparency" in image.info
        return np.asarray(image.convert("RGBA" if has_alpha else "RGB"))
    return np.asarray(image)


def _check_size(size: tuple[int, int], max_pixels: int | None, label: str) -> None:
    width, height = size
    if max_pixels is not None and width * height > max_pixels:
        raise ImageFileError(
            f"{label}: {width} x {height} is {width * height / 1e6:,.0f} MP, more than the limit of "
            f"{max_pixels / 1e6:,.0f} MP (raise it with --max-megapixels)"
        )


def _read_deep_color(source: Path | BinaryIO, image: Any) -> NDArray[np.uint16] | None:
    """A 16-bit RGB(A) PNG or TIFF as uint16, or None for any other image."""
    if image.format == "PNG":
        # IHDR: bit depth at byte 24, colour type at 25 (2 = RGB, 6 = RGBA).
        header = _head(source, 26)
        if header[24] != 16 or header[25] not in (2, 6):
            return None
        import png  # pypng: pure Python, imported only for this case

        reader = png.Reader(filename=str(source)) if isinstance(source, Path) else png.Reader(file=source)
        width, height, rows, info = reader.asDirect()
        channels = info["planes"]
        return np.vstack([np.asarray(row, dtype=np.uint16) for row in rows]).reshape(height, width, channels)
    if image.format == "TIFF" and image.tag_v2.get(258, (8,))[0] == 16 and image.tag_v2.get(277, 1) in (3, 4):
        import tifffile

        if not isinstance(source, Path):
            source.seek(0)
        pixels: NDArray[np.uint16] = np.asarray(tifffile.imread(source), dtype=np.uint16)
        return pixels
    return None


def _head(source: Path | BinaryIO, size: int) -> bytes:
    """The first ``size`` bytes of a file; a stream is left at its start."""
    if isinstance(source, Path):
        with open(source, "rb") as handle:
            return handle.read(size)
    source.seek(0)
    head = source.read(size)
    source.seek(0)
    return head


def output_format(target: Path | BinaryIO, format: str | None = None) -> str:
    """Pillow's format name for ``format`` (a file suffix such as ``"png"`` or ``".jpg"``), or
    for the suffix of ``target`` when ``format`` is None; a stream is PNG by default."""
    from PIL import Image

    if format is not None:
        suffix = "." + format.lower().lstrip(".")
    elif isinstance(target, Path):
        suffix = target.suffix.lower()
    else:
        suffix = ".png"
    fmt = Image.registered_extensions().get(suffix)
    if fmt is None:
        where = f"{target}: " if isinstance(target, Path) else ""
        raise ImageFileError(
            f"{where}unknown image format {suffix!r}; use .png, .jpg, .bmp, .tif, .webp, .gif, ..."
        )
    return fmt


def _emit(target: Path | BinaryIO, write: Callable[[BinaryIO], object]) -> None:
    """Write a file atomically through ``write``, or all of it at once to a stream."""
    if not isinstance(target, Path):
        buffer = io.BytesIO()
        write(buffer)
        target.write(buffer.getvalue())
        target.flush()
        return
    try:
        atomic_write(target, write)
    except OSError as error:
        raise ImageFileError(f"{target}: cannot write: {error.strerror or error}") from None


def _save(image: Any, target: Path | BinaryIO, fmt: str, **options: Any) -> None:
    _emit(target, lambda handle: image.save(handle, format=fmt, **options))


def write_image(pixels: NDArray[Any], target: Path | BinaryIO, format: str | None = None) -> None:
    """Write ``pixels`` to a file, atomically, or to a binary stream.

    The format is ``format`` (a suffix such as ``"png"``) or else the suffix of
    ``target`` (PNG for a stream). Alpha is dropped for formats without it (JPEG,
    BMP); 16-bit gray is kept where the format stores it (PNG, TIFF) and reduced to
    8 bits elsewhere. Floats (in [0, 1]) are kept in TIFF, stored with 16 bits in
    PNG and 8 bits elsewhere.
    """
    from PIL import Image

    fmt = output_format(target, format)
    if pixels.dtype.kind == "f" and fmt != "TIFF":
        pixels = from_unit(pixels, np.dtype(np.uint16 if fmt == "PNG" else np.uint8))
    if pixels.dtype == np.uint16 and fmt not in ("PNG", "TIFF"):
        pixels = convert(pixels, np.dtype(np.uint8))
    if pixels.dtype == np.uint16 and pixels.ndim == 3 and pixels.shape[2] in (3, 4):
        _write_deep_color(pixels, target, fmt)
        return
    image = Image.fromarray(pixels)
    if image.mode in ("RGBA", "LA") and fmt in ("JPEG", "BMP"):
        image = image.convert(image.mode[:-1])
    _save(image, target, fmt)


def _write_deep_color(pixels: NDArray[np.uint16], target: Path | BinaryIO, fmt: str) -> None:
    """16-bit RGB(A) as PNG (pypng) or TIFF (tifffile)."""
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

    _emit(target, write_png if fmt == "PNG" else write_tiff)


def check_indexable(alpha: NDArray[Any] | None, path: Path | str) -> None:
    """Raise :class:`ImageFileError` unless every pixel is fully transparent or fully opaque.

    An indexed image stores one colour per pixel and at most one transparent
    entry, so ``alpha`` (None: no alpha) must hold only 0 and its maximum.
    """
    if alpha is not None and np.any((alpha != 0) & (alpha != max_value(alpha.dtype))):
        raise ImageFileError(
            f"{path}: partial transparency cannot be stored in an indexed image "
            "(only fully transparent or fully opaque pixels); write it without --indexed"
        )


def write_indexed(
    labels: NDArray[np.intp],
    palette: Palette,
    alpha: NDArray[Any] | None,
    path: Path | BinaryIO,
    format: str | None = None,
) -> None:
    """Write a palette-based (P-mode) PNG or GIF: one byte per pixel.

    ``path`` is a file (written atomically) or a binary stream; the format is
    ``format`` or else the file's suffix, as for :func:`write_image`.

    ``labels`` are palette indices (-1 for pixels that were not quantized,
    which must be exactly the fully transparent ones); those get one extra,
    transparent palette entry. Partial transparency cannot be stored.
    """
    from PIL import Image

    fmt = output_format(path, format)
    name = path if isinstance(path, Path) else "<stream>"
    if fmt not in INDEXED_FORMATS:
        raise ImageFileError(f"{name}: indexed output needs PNG or GIF, not {fmt}")
    colors = to_rgb8(palette.colors)
    unquantized = labels < 0
    if alpha is not None and not np.array_equal(unquantized, alpha == 0):
        raise ValueError("labels must be -1 exactly where alpha is 0")
    check_indexable(alpha, name)
    n_entries = len(colors) + int(unquantized.any())
    if n_entries > 256:
        raise ImageFileError(
            f"{name}: an indexed image holds at most 256 colours, this one needs {n_entries}"
        )
    indices = np.where(unquantized, len(colors), labels).astype(np.uint8)
    height, width = indices.shape
    image = Image.frombytes("P", (width, height), indices.tobytes())
    table = np.zeros((n_entries, 3), dtype=np.uint8)
    table[: len(colors)] = colors
    image.putpalette(table.ravel().tolist())
    options = {"transparency": len(colors)} if unquantized.any() else {}
    _save(image, path, fmt, **options)
