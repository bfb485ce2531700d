"""Palette files on plain arrays: GIMP ``.gpl``, hex lists, JSON and PNG swatches.

=========  ==================  ===============================================  ========
format     suffixes            content                                          loadable
=========  ==================  ===============================================  ========
``gpl``    ``.gpl``            GIMP palette: header, then ``R G B<TAB>name``    yes
``hex``    ``.hex``, ``.txt``  one ``#rrggbb`` per line                         yes
``json``   ``.json``           ``{"color_space": ..., "colors": [...]}``        yes
``png``    ``.png``            swatches, widths proportional to share           no
=========  ==================  ===============================================  ========

Every file holds 8-bit sRGB values (:func:`~kmeans_quantize.pixels.to_rgb8`), so two colours
that differ only below 8-bit precision are written as the same value; gray palettes are written
as R = G = B. Reading gives ``uint8`` RGB colours.

Saving is atomic: the file is written under a temporary name in the destination
folder, flushed to disk and renamed over the destination, so an interrupted save
leaves either the old file or the new one, never a partial file. The new file gets
the usual permissions (``0o666`` minus the umask).

This module knows nothing of :class:`~kmeans_quantize.palette.Palette`, which reads and writes
through it (:meth:`~kmeans_quantize.palette.Palette.save`, :meth:`~kmeans_quantize.palette.Palette.load`);
:mod:`~kmeans_quantize.palette_io` offers the same as functions. Only numpy is imported here;
Pillow is imported when a PNG swatch is written.

References
----------
.. [1] GIMP, ``app/core/gimppalette-load.c`` and ``gimppalette-save.c``: the
       ``.gpl`` format (``GIMP Palette``, ``Name:``, ``Columns:``, ``#`` comments,
       ``%3d %3d %3d\\t%s`` rows).
"""

from __future__ import annotations

import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import numpy as np
from numpy.typing import NDArray

from .clustering_space import check_color_space
from .files import atomic_write

__all__ = [
    "FORMATS",
    "SUFFIX_FORMATS",
    "SWATCH_SIZE",
    "PaletteContent",
    "shares",
    "entry_labels",
    "swatch_strip",
    "write_palette_file",
    "read_palette_file",
]

FORMATS = ("gpl", "hex", "json", "png")
SUFFIX_FORMATS = {".gpl": "gpl", ".hex": "hex", ".txt": "hex", ".json": "json", ".png": "png"}
# GIMP shows palettes in this many columns at most.
_GPL_MAX_COLUMNS = 16
_HEX_COLOR = re.compile(r"#?([0-9a-fA-F]{6})")
_DECIMAL = re.compile(r"[0-9]+")
_LINE_BREAK = re.compile(r"\r\n|[\r\n]")
# Counts are stored as int64.
_MAX_COUNT = 2**63 - 1
_CHANNELS = ("red", "green", "blue")
#: The size (width, height) of the swatch strip a .png palette file holds.
SWATCH_SIZE = (512, 64)

PathLike: TypeAlias = str | os.PathLike[str]


@dataclass(frozen=True)
class PaletteContent:
    """What a palette file holds.

    Attributes
    ----------
    rgb : ndarray of uint8, shape (n, 3)
        8-bit sRGB colours, in file order.
    counts : ndarray of int64, shape (n,)
        Pixels per colour (zeros where the file has none).
    color_space : str
        The clustering space the palette was made in ("rgb" where the file does not say).
    """

    rgb: NDArray[np.uint8]
    counts: NDArray[np.int64]
    color_space: str


def shares(counts: NDArray[np.int64]) -> NDArray[np.float64]:
    """Fraction of the counted pixels each colour covers (zeros when nothing is counted)."""
    total = counts.sum()
    return counts / total if total else np.zeros(len(counts))


def _hex(rgb: NDArray[np.uint8]) -> list[str]:
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in rgb.tolist()]


def _apportion(weights: NDArray[np.float64], total: int) -> NDArray[np.int64]:
    """Split ``total`` pixels in proportion to ``weights``, at least one each.

    Largest-remainder (Hamilton) rounding, then every empty slot takes one pixel
    from the widest one. Needs ``total >= len(weights)``.
    """
    ideal = weights / weights.sum() * total
    widths: NDArray[np.int64] = np.floor(ideal).astype(np.int64)
    by_remainder = np.argsort(widths - ideal, kind="stable")
    widths[by_remainder[: total - int(widths.sum())]] += 1
    for empty in np.flatnonzero(widths == 0):
        widths[np.argmax(widths)] -= 1
        widths[empty] = 1
    return widths


def swatch_strip(
    rgb: NDArray[np.uint8], counts: NDArray[np.int64], width: int, height: int
) -> NDArray[np.uint8]:
    """Draw 8-bit colours as a strip of swatches, left to right.

    Each colour gets a width proportional to its share of ``counts`` (equal widths if
    nothing is counted), rounded to whole pixels, and at least one pixel.

    Returns
    -------
    ndarray of uint8, shape (height, width, 3)
    """
    if width < len(rgb) or height < 1:
        raise ValueError(
            f"a swatch strip for {len(rgb)} colours needs width >= {len(rgb)} and height >= 1, "
            f"got {width}x{height}"
        )
    weights = shares(counts) if counts.any() else np.ones(len(rgb))
    columns = np.repeat(np.arange(len(rgb)), _apportion(weights, width))
    return np.ascontiguousarray(np.broadcast_to(rgb[columns], (height, width, 3)))


def entry_labels(rgb: NDArray[np.uint8], counts: NDArray[np.int64]) -> list[str]:
    """``"#rrggbb (N px)"`` per colour, or just the hex code when nothing is counted."""
    labels = _hex(rgb)
    if not counts.any():
        return labels
    return [f"{label} ({count} px)" for label, count in zip(labels, counts.tolist(), strict=True)]


def _gpl_text(content: PaletteContent, name: str) -> str:
    rgb = content.rgb
    labels = entry_labels(rgb, content.counts)
    lines = ["GIMP Palette", f"Name: {name}", f"Columns: {min(len(rgb), _GPL_MAX_COLUMNS)}", "#"]
    lines += [f"{r:3d} {g:3d} {b:3d}\t{label}" for (r, g, b), label in zip(rgb.tolist(), labels, strict=True)]
    return "\n".join(lines) + "\n"


def _json_text(content: PaletteContent) -> str:
    rgb = content.rgb
    colors = [
        {"hex": code, "rgb": triple, "count": count, "share": share}
        for code, triple, count, share in zip(
            _hex(rgb), rgb.tolist(), content.counts.tolist(), shares(content.counts).tolist(), strict=True
        )
    ]
    return json.dumps({"color_space": content.color_space, "colors": colors}, indent=2) + "\n"


def _png_bytes(pixels: NDArray[np.uint8]) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _format_of(path: Path, format: str | None) -> str:
    if format is None:
        try:
            return SUFFIX_FORMATS[path.suffix.lower()]
        except KeyError:
            raise ValueError(
                f"{path}: unknown palette format {path.suffix!r}; use one of "
                f"{', '.join(SUFFIX_FORMATS)} or pass format= ({', '.join(FORMATS)})"
            ) from None
    if format not in FORMATS:
        raise ValueError(f"unknown palette format {format!r}; choose one of {', '.join(FORMATS)}")
    return format


def write_palette_file(
    content: PaletteContent, path: PathLike, format: str | None = None, *, name: str | None = None
) -> None:
    """Write ``content`` to ``path``, atomically.

    Parameters
    ----------
    content : PaletteContent
    path : str or path-like
        Destination; an existing file is replaced. The folder must exist.
    format : {"gpl", "hex", "json", "png"}, optional
        Taken from the suffix of ``path`` when not given: ``.gpl``; ``.hex`` or
        ``.txt``; ``.json``; ``.png``.
    name : str, optional
        Palette name for the ``Name:`` line of a GIMP palette (default: the file
        name without its suffix, each line break in it replaced by a space). Other
        formats have no name and ignore it.

    Notes
    -----
    * ``gpl``: ``GIMP Palette``, ``Name: <name>``, ``Columns: <min(n, 16)>``, ``#``,
      then one ``R G B<TAB><label>`` row per colour with R, G, B right-aligned in
      3 characters, as GIMP writes them [1]_. The label is ``#rrggbb``, followed
      by `` (<count> px)`` when the palette has counts.
    * ``hex``: one lowercase ``#rrggbb`` per line.
    * ``json``: ``{"color_space": ..., "colors": [{"hex": "#rrggbb", "rgb": [r, g, b],
      "count": n, "share": fraction}, ...]}``; shares are 0 when there are no counts.
    * ``png``: the strip of :func:`swatch_strip`, 512x64 pixels (needs Pillow).

    Raises
    ------
    ValueError
        For an unknown format, a name with a line break, or a palette of more than
        512 colours saved as PNG.
    OSError
        If the file cannot be written (for example a missing folder); nothing is
        left behind.
    """
    path = Path(path)
    fmt = _format_of(path, format)
    if fmt == "gpl":
        name = _LINE_BREAK.sub(" ", path.stem) if name is None else name
        if "\n" in name or "\r" in name:
            raise ValueError(f"the palette name must be one line, got {name!r}")
        data = _gpl_text(content, name).encode()
    elif fmt == "hex":
        data = "".join(f"{code}\n" for code in _hex(content.rgb)).encode()
    elif fmt == "json":
        data = _json_text(content).encode()
    else:
        data = _png_bytes(swatch_strip(content.rgb, content.counts, *SWATCH_SIZE))
    atomic_write(path, lambda handle: handle.write(data))


# --- reading --------------------------------------------------------------------------------------


def _channel(field: str, channel: str, where: str) -> int:
    value = int(field) if _DECIMAL.fullmatch(field) else -1
    if not 0 <= value <= 255:
        raise ValueError(f"{where}: {channel} value {field!r} is not an integer from 0 to 255")
    return value


def _hex_triple(code: str, where: str) -> list[int]:
    match = _HEX_COLOR.fullmatch(code)
    if match is None:
        raise ValueError(f"{where}: {code!r} is not a colour of the form #rrggbb")
    digits = match.group(1)
    return [int(digits[i : i + 2], 16) for i in (0, 2, 4)]


def _content(
    path: Path, rows: list[list[int]], counts: list[int] | None = None, color_space: str = "rgb"
) -> PaletteContent:
    if not rows:
        raise ValueError(f"{path}: the file holds no colours")
    return PaletteContent(
        np.array(rows, dtype=np.uint8),
        np.array([0] * len(rows) if counts is None else counts, dtype=np.int64),
        color_space,
    )


def _lines(text: str) -> list[str]:
    """The lines of a palette file: split at ``\\n`` alone (dropping a ``\\r`` before it), as GIMP
    reads them.

    Not ``str.splitlines()``, which also breaks at ``\\v``, ``\\f``, ``\\x1c``-``\\x1e``,
    ``\\x85``, U+2028 and U+2029: characters that a colour's or the palette's name may hold.
    """
    return [line.removesuffix("\r") for line in text.split("\n")]


def _parse_gpl(text: str, path: Path) -> PaletteContent:
    lines = _lines(text)
    if not lines or not lines[0].startswith("GIMP Palette"):
        raise ValueError(f"{path}:1: not a GIMP palette: the first line must be 'GIMP Palette'")
    rows: list[list[int]] = []
    for number, line in enumerate(lines[1:], start=2):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not rows and stripped.startswith(("Name:", "Columns:")):
            continue
        fields = stripped.split(maxsplit=3)
        where = f"{path}:{number}"
        if len(fields) < 3:
            raise ValueError(f"{where}: expected 'R G B [name]', found {len(fields)} field(s): {stripped!r}")
        rows.append(
            [_channel(field, channel, where) for field, channel in zip(fields[:3], _CHANNELS, strict=True)]
        )
    return _content(path, rows)


def _parse_hex(text: str, path: Path) -> PaletteContent:
    rows = [
        _hex_triple(line.strip(), f"{path}:{number}")
        for number, line in enumerate(_lines(text), start=1)
        if line.strip()
    ]
    return _content(path, rows)


def _json_rgb(triple: object, where: str) -> list[int]:
    if not (
        isinstance(triple, list)
        and len(triple) == 3
        and all(type(value) is int and 0 <= value <= 255 for value in triple)
    ):
        raise ValueError(f'{where}: "rgb" must be a list of 3 integers from 0 to 255, got {triple!r}')
    return triple


def _json_entry(entry: object, where: str) -> tuple[list[int], int]:
    if not isinstance(entry, dict) or not ("rgb" in entry or "hex" in entry):
        raise ValueError(f'{where}: expected an object with "rgb": [r, g, b] or "hex": "#rrggbb"')
    if "hex" in entry:
        code = entry["hex"]
        if not isinstance(code, str):
            raise ValueError(f'{where}: "hex" must be a string "#rrggbb", got {code!r}')
        rgb = _hex_triple(code, where)
        if "rgb" in entry and _json_rgb(entry["rgb"], where) != rgb:
            raise ValueError(f'{where}: "rgb" {entry["rgb"]} and "hex" {code!r} disagree')
    else:
        rgb = _json_rgb(entry["rgb"], where)
    count = entry.get("count", 0)
    if type(count) is not int or not 0 <= count <= _MAX_COUNT:
        raise ValueError(f'{where}: "count" must be an integer from 0 to 2**63 - 1, got {count!r}')
    return rgb, count


def _parse_json(text: str, path: Path) -> PaletteContent:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}:{error.lineno}: invalid JSON: {error.msg}") from None
    except RecursionError:
        raise ValueError(f"{path}: invalid JSON: nested too deeply for Python's parser") from None
    except ValueError:
        # The only other ValueError: an integer beyond sys.get_int_max_str_digits() (4300).
        raise ValueError(f"{path}: invalid JSON: a number has too many digits to read") from None
    if not isinstance(data, dict) or not isinstance(data.get("colors"), list):
        raise ValueError(f'{path}: expected a JSON object with a "colors" list')
    try:
        color_space = check_color_space(data.get("color_space", "rgb"))
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    entries = [_json_entry(entry, f"{path}: colors[{index}]") for index, entry in enumerate(data["colors"])]
    if sum(count for _, count in entries) > _MAX_COUNT:
        raise ValueError(f'{path}: the "count"s add up to more than 2**63 - 1')
    return _content(path, [rgb for rgb, _ in entries], [count for _, count in entries], color_space)


def read_palette_file(path: PathLike, format: str | None = None) -> PaletteContent:
    """Read a palette file written by :func:`write_palette_file`, GIMP or a text editor.

    Parameters
    ----------
    path : str or path-like
        A UTF-8 text file (a byte-order mark is allowed).
    format : {"gpl", "hex", "json"}, optional
        Taken from the suffix of ``path`` when not given.

    Returns
    -------
    PaletteContent
        ``uint8`` RGB colours in file order. Counts and ``color_space`` come from a
        JSON file (missing counts are 0, a missing color space is ``"rgb"``);
        other formats give zero counts and ``"rgb"``.

    Notes
    -----
    * ``gpl``: like GIMP [1]_, the first line must start with ``GIMP Palette``;
      ``Name:`` and ``Columns:`` lines before the first colour, blank lines and
      ``#`` comments are skipped; a row is three decimal integers separated by any
      whitespace, optionally followed by a name.
    * ``gpl`` and ``hex``: lines end at ``\\n`` or ``\\r\\n`` only, as GIMP reads them, so a
      name may hold other characters that Unicode counts as line breaks (U+2028, ...).
    * ``hex``: one ``#rrggbb`` or ``rrggbb`` per line (either case); blank lines
      are skipped.
    * ``json``: each colour needs ``"rgb"`` or ``"hex"`` (both must agree if both
      are given); ``"count"`` is optional, ``"share"`` is ignored (it follows from
      the counts).

    Raises
    ------
    ValueError
        If the file is malformed, PNG or not UTF-8, with the file name and, for
        text formats, the line number (``path:line: message``); JSON content
        errors name the entry (``colors[i]``) instead.
    OSError
        If the file cannot be read.
    """
    path = Path(path)
    fmt = _format_of(path, format)
    if fmt == "png":
        raise ValueError(
            f"{path}: PNG swatches can be saved but not loaded; load a .gpl, .hex, .txt or .json palette"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not a UTF-8 text file (byte {error.start})") from None
    parse = {"gpl": _parse_gpl, "hex": _parse_hex, "json": _parse_json}[fmt]
    return parse(text, path)
