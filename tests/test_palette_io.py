"""Palette files (GIMP .gpl, hex, JSON, PNG swatch) and palette order.

Expected values are computed here from published definitions, never with the package:

* GIMP palette format: GIMP's ``gimppalette-save.c`` writes ``GIMP Palette``, ``Name:``,
  ``Columns:``, ``#`` and rows formatted ``"%3d %3d %3d\\t%s"``; ``gimppalette-load.c``
  skips ``#`` comments and accepts rows without a name.
* CIELAB L* from sRGB (IEC 61966-2-1 transfer function, relative luminance
  Y = 0.2126729 R + 0.7151522 G + 0.0721750 B, CIE 15:2004 L* = 116 f(Y) - 16), and
  a*, b* and the hue angle from the IEC 61966-2-1 sRGB-to-XYZ matrix and D65 white.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from kmeans_quantize import Palette
from kmeans_quantize.palette_io import (
    ACHROMATIC_CHROMA,
    load_palette,
    render_swatch,
    save_palette,
    sort_palette,
)

TEXT_FORMATS = ["gpl", "hex", "json"]
SUFFIXES = {"gpl": ".gpl", "hex": ".hex", "json": ".json", "png": ".png"}
DTYPES = [np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32), np.dtype(np.float64)]


# --- independent references ---------------------------------------------------------------------


def srgb_linear(unit: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 decoding."""
    return np.where(unit <= 0.04045, unit / 12.92, ((unit + 0.055) / 1.055) ** 2.4)


def lab_f(t: np.ndarray) -> np.ndarray:
    """CIE 15:2004 f(t) for L*, a*, b*."""
    delta = 6.0 / 29.0
    return np.where(t > delta**3, np.cbrt(t), t / (3 * delta**2) + 4.0 / 29.0)


def reference_lab(rgb8: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of 8-bit sRGB rows, from the published constants."""
    linear = srgb_linear(np.asarray(rgb8, dtype=np.float64) / 255.0)
    matrix = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = linear @ matrix.T / np.array([0.95047, 1.0, 1.08883])
    fx, fy, fz = lab_f(xyz[:, 0]), lab_f(xyz[:, 1]), lab_f(xyz[:, 2])
    return np.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], axis=1)


def reference_lightness(rgb8: np.ndarray) -> np.ndarray:
    """CIELAB L* of 8-bit sRGB rows: 116 f(Y) - 16 with the sRGB luminance weights."""
    linear = srgb_linear(np.asarray(rgb8, dtype=np.float64) / 255.0)
    luminance = linear @ np.array([0.2126729, 0.7151522, 0.0721750])
    return 116 * lab_f(luminance) - 16


def to_8bit(colors: np.ndarray) -> np.ndarray:
    """8-bit values of stored colours: round(v * 255 / max)."""
    maximum = np.iinfo(colors.dtype).max if colors.dtype.kind == "u" else 1.0
    return np.rint(colors.astype(np.float64) * 255.0 / maximum).astype(np.uint8)


# --- helpers ------------------------------------------------------------------------------------


def random_palette(seed: int, n: int = 20, with_counts: bool = True) -> Palette:
    rng = np.random.default_rng(seed)
    colors = rng.integers(0, 256, (n, 3), dtype=np.uint8)
    counts = rng.integers(0, 10_000, n) if with_counts else None
    return Palette(colors, counts)


def write_text(path: Path, text: str) -> Path:
    path.write_bytes(text.encode())
    return path


def listing(folder: Path) -> list[str]:
    return sorted(entry.name for entry in folder.iterdir())


# --- round trips --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
@pytest.mark.parametrize("seed", range(5))
def test_round_trip_keeps_the_colours(tmp_path: Path, fmt: str, seed: int) -> None:
    palette = random_palette(seed, n=1 + 37 * seed)
    path = tmp_path / f"palette{SUFFIXES[fmt]}"
    save_palette(palette, path)
    loaded = load_palette(path)
    assert loaded.colors.dtype == np.uint8
    assert np.array_equal(loaded.colors, palette.colors)
    assert loaded.color_space == "rgb"
    expected_counts = palette.counts if fmt == "json" else np.zeros(len(palette))
    assert np.array_equal(loaded.counts, expected_counts)


@pytest.mark.parametrize("color_space", ["rgb", "lab", "oklab"])
def test_json_round_trip_keeps_counts_and_color_space(tmp_path: Path, color_space: str) -> None:
    palette = Palette(random_palette(7).colors, np.arange(20) * 3, color_space=color_space)
    save_palette(palette, tmp_path / "p.json")
    loaded = load_palette(tmp_path / "p.json")
    assert loaded.color_space == color_space
    assert np.array_equal(loaded.counts, palette.counts)
    assert np.array_equal(loaded.colors, palette.colors)


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_deep_and_float_palettes_are_saved_as_8_bit(tmp_path: Path, fmt: str, dtype: np.dtype) -> None:
    rng = np.random.default_rng(3)
    maximum = np.iinfo(dtype).max if dtype.kind == "u" else 1
    if dtype.kind == "u":
        colors = rng.integers(0, maximum + 1, (30, 3)).astype(dtype)
    else:
        colors = rng.random((30, 3)).astype(dtype)
    colors[0], colors[1] = 0, maximum
    path = tmp_path / f"p{SUFFIXES[fmt]}"
    save_palette(Palette(colors), path)
    assert np.array_equal(load_palette(path).colors, to_8bit(colors))


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_gray_palettes_are_saved_as_r_equals_g_equals_b(tmp_path: Path, fmt: str, dtype: np.dtype) -> None:
    maximum = np.iinfo(dtype).max if dtype.kind == "u" else 1
    gray = (np.array([[0.0], [0.25], [0.5], [1.0]]) * maximum).astype(dtype)
    path = tmp_path / f"p{SUFFIXES[fmt]}"
    save_palette(Palette(gray), path)
    expected = np.repeat(to_8bit(gray), 3, axis=1)
    assert np.array_equal(load_palette(path).colors, expected)


def test_format_argument_overrides_the_suffix(tmp_path: Path) -> None:
    palette = random_palette(1, n=4)
    path = tmp_path / "colours.dat"
    save_palette(palette, path, format="gpl")
    assert path.read_text().startswith("GIMP Palette\n")
    assert np.array_equal(load_palette(path, format="gpl").colors, palette.colors)
    save_palette(palette, tmp_path / "plain.txt")
    assert np.array_equal(load_palette(tmp_path / "plain.txt").colors, palette.colors)


# --- exact file contents ------------------------------------------------------------------------


SMALL = Palette(np.array([[255, 0, 0], [0, 128, 255], [7, 7, 7]], dtype=np.uint8), np.array([10, 5, 1]))


def test_gpl_text_is_exactly_what_gimp_writes(tmp_path: Path) -> None:
    save_palette(SMALL, tmp_path / "small.gpl", name="Small test")
    expected = (
        "GIMP Palette\n"
        "Name: Small test\n"
        "Columns: 3\n"
        "#\n"
        "255   0   0\t#ff0000 (10 px)\n"
        "  0 128 255\t#0080ff (5 px)\n"
        "  7   7   7\t#070707 (1 px)\n"
    )
    assert (tmp_path / "small.gpl").read_bytes() == expected.encode()


def test_gpl_without_counts_names_rows_by_hex_and_the_palette_by_file(tmp_path: Path) -> None:
    palette = Palette(SMALL.colors)
    save_palette(palette, tmp_path / "sunset.gpl")
    lines = (tmp_path / "sunset.gpl").read_text().splitlines()
    assert lines[:4] == ["GIMP Palette", "Name: sunset", "Columns: 3", "#"]
    assert lines[4:] == ["255   0   0\t#ff0000", "  0 128 255\t#0080ff", "  7   7   7\t#070707"]


def test_gpl_columns_are_capped_at_16(tmp_path: Path) -> None:
    save_palette(random_palette(2, n=40), tmp_path / "big.gpl")
    assert (tmp_path / "big.gpl").read_text().splitlines()[2] == "Columns: 16"


def test_gpl_name_must_be_one_line(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="one line"):
        save_palette(SMALL, tmp_path / "x.gpl", name="two\nlines")
    assert listing(tmp_path) == []


# Characters that str.splitlines() takes for line breaks besides \n and \r: GIMP and this
# package read a palette line by line on \n alone, so they may stand in a name.
SPLITLINES_BREAKS = [
    pytest.param("\v", id="VT"),
    pytest.param("\f", id="FF"),
    pytest.param("\x1c", id="FS"),
    pytest.param("\x1d", id="GS"),
    pytest.param("\x1e", id="RS"),
    pytest.param("\x85", id="NEL"),
    pytest.param("\u2028", id="LS"),
    pytest.param("\u2029", id="PS"),
]


@pytest.mark.parametrize("char", SPLITLINES_BREAKS)
def test_gpl_name_with_a_splitlines_break_round_trips(tmp_path: Path, char: str) -> None:
    name = f"before{char}after"
    save_palette(SMALL, tmp_path / "x.gpl", name=name)
    assert (tmp_path / "x.gpl").read_text().split("\n")[1] == f"Name: {name}"
    np.testing.assert_array_equal(load_palette(tmp_path / "x.gpl").colors, SMALL.colors)


@pytest.mark.parametrize("char", SPLITLINES_BREAKS)
def test_gimp_colour_names_with_a_splitlines_break_are_read(tmp_path: Path, char: str) -> None:
    text = f"GIMP Palette\nName: a{char}b\n#\n255 0 0\tred{char}dish\n  0 0 255\tblue\n"
    loaded = load_palette(write_text(tmp_path / "gimp.gpl", text))
    assert loaded.colors.tolist() == [[255, 0, 0], [0, 0, 255]]


@pytest.mark.parametrize("char", SPLITLINES_BREAKS)
def test_hex_lines_are_split_on_newlines_only(tmp_path: Path, char: str) -> None:
    loaded = load_palette(write_text(tmp_path / "x.hex", f"{char}#ff0000{char}\r\n#00ff00\n"))
    assert loaded.colors.tolist() == [[255, 0, 0], [0, 255, 0]]


@pytest.mark.parametrize("stem", ["two\nlines", "two\rlines", "two\r\nlines"], ids=["LF", "CR", "CRLF"])
def test_gpl_name_from_a_file_name_with_a_line_break_is_written_on_one_line(
    tmp_path: Path, stem: str
) -> None:
    save_palette(SMALL, tmp_path / f"{stem}.gpl")
    text = (tmp_path / f"{stem}.gpl").read_bytes().decode()
    assert text.split("\n")[1] == "Name: two lines"
    np.testing.assert_array_equal(load_palette(tmp_path / f"{stem}.gpl").colors, SMALL.colors)


def test_hex_text(tmp_path: Path) -> None:
    save_palette(SMALL, tmp_path / "small.hex")
    assert (tmp_path / "small.hex").read_bytes() == b"#ff0000\n#0080ff\n#070707\n"


def test_json_content(tmp_path: Path) -> None:
    save_palette(Palette(SMALL.colors, SMALL.counts, color_space="lab"), tmp_path / "small.json")
    assert json.loads((tmp_path / "small.json").read_text()) == {
        "color_space": "lab",
        "colors": [
            {"hex": "#ff0000", "rgb": [255, 0, 0], "count": 10, "share": 10 / 16},
            {"hex": "#0080ff", "rgb": [0, 128, 255], "count": 5, "share": 5 / 16},
            {"hex": "#070707", "rgb": [7, 7, 7], "count": 1, "share": 1 / 16},
        ],
    }


def test_json_shares_are_zero_without_counts(tmp_path: Path) -> None:
    save_palette(Palette(SMALL.colors), tmp_path / "p.json")
    entries = json.loads((tmp_path / "p.json").read_text())["colors"]
    assert [(entry["count"], entry["share"]) for entry in entries] == [(0, 0.0)] * 3


# --- loading hand-written files -----------------------------------------------------------------


def test_load_hand_written_gimp_palette(tmp_path: Path) -> None:
    text = (
        "\ufeffGIMP Palette\r\n"
        "Name: Hand made\r\n"
        "Columns: 4\r\n"
        "# a comment\r\n"
        "#\r\n"
        "\r\n"
        "255 255 255\tWhite\r\n"
        "  0\t0  0\r\n"
        "   # an indented comment\r\n"
        "12 34 56 a name with  several   spaces\r\n"
        "\t255   128 0   \r\n"
        "   \r\n"
        "1 2 3 4\r\n"
    )
    loaded = load_palette(write_text(tmp_path / "hand.gpl", text))
    expected = [[255, 255, 255], [0, 0, 0], [12, 34, 56], [255, 128, 0], [1, 2, 3]]
    assert loaded.colors.tolist() == expected
    assert loaded.colors.dtype == np.uint8
    assert loaded.counts.tolist() == [0] * 5
    assert loaded.color_space == "rgb"


def test_load_gimp_palette_without_name_or_columns(tmp_path: Path) -> None:
    loaded = load_palette(write_text(tmp_path / "bare.gpl", "GIMP Palette\n10 20 30\n"))
    assert loaded.colors.tolist() == [[10, 20, 30]]


def test_load_hex_accepts_both_cases_no_hash_and_blank_lines(tmp_path: Path) -> None:
    text = "#FF0000\n\n  00ff7F  \r\n#abcdef\n\n"
    loaded = load_palette(write_text(tmp_path / "lospec.hex", text))
    assert loaded.colors.tolist() == [[255, 0, 0], [0, 255, 127], [171, 205, 239]]


def test_load_json_with_hex_only_rgb_only_and_no_counts(tmp_path: Path) -> None:
    text = json.dumps({"colors": [{"hex": "#102030"}, {"rgb": [1, 2, 3], "count": 4}, {"hex": "a0b0c0"}]})
    loaded = load_palette(write_text(tmp_path / "p.json", text))
    assert loaded.colors.tolist() == [[16, 32, 48], [1, 2, 3], [160, 176, 192]]
    assert loaded.counts.tolist() == [0, 4, 0]
    assert loaded.color_space == "rgb"


# --- malformed files ----------------------------------------------------------------------------


GPL_ERRORS = [
    pytest.param("", 1, "not a GIMP palette", id="empty-file"),
    pytest.param("Gimp palette\n1 2 3\n", 1, "not a GIMP palette", id="bad-header"),
    pytest.param("1 2 3\nGIMP Palette\n", 1, "not a GIMP palette", id="header-not-first"),
    pytest.param("GIMP Palette\n#\n1 2\n", 3, r"expected 'R G B \[name\]', found 2", id="two-fields"),
    pytest.param("GIMP Palette\n\n7\tname\n", 3, "found 2", id="one-value-and-name"),
    pytest.param("GIMP Palette\n1 2 3\n1 2 256\n", 3, "blue value '256'", id="out-of-range"),
    pytest.param("GIMP Palette\n-1 2 3\n", 2, "red value '-1'", id="negative"),
    pytest.param("GIMP Palette\n1 2.5 3\n", 2, "green value '2.5'", id="not-an-integer"),
    pytest.param("GIMP Palette\n1 x 3 name\n", 2, "green value 'x'", id="word"),
    pytest.param("GIMP Palette\n1 2 3\nName: late\n", 3, "found 2", id="name-after-colours"),
]


@pytest.mark.parametrize(("text", "line", "message"), GPL_ERRORS)
def test_malformed_gpl_names_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write_text(tmp_path / "bad.gpl", text)
    with pytest.raises(ValueError, match=message) as info:
        load_palette(path)
    assert str(info.value).startswith(f"{path}:{line}: ")


HEX_ERRORS = [
    pytest.param("#ff0000\n#ff000\n", 2, id="five-digits"),
    pytest.param("#ff0000\n\n#ff00000\n", 3, id="seven-digits"),
    pytest.param("#gg0000\n", 1, id="not-hex"),
    pytest.param("#ff0000 red\n", 1, id="trailing-word"),
    pytest.param("##ff0000\n", 1, id="two-hashes"),
    pytest.param("#fff\n", 1, id="short-form"),
]


@pytest.mark.parametrize(("text", "line"), HEX_ERRORS)
def test_malformed_hex_names_file_and_line(tmp_path: Path, text: str, line: int) -> None:
    path = write_text(tmp_path / "bad.hex", text)
    with pytest.raises(ValueError, match="is not a colour of the form #rrggbb") as info:
        load_palette(path)
    assert str(info.value).startswith(f"{path}:{line}: ")


def test_invalid_json_names_file_and_line(tmp_path: Path) -> None:
    # An invalid value on line 4 (not a trailing comma: Python 3.13 reports those
    # on the comma's line, older versions on the next one).
    path = write_text(tmp_path / "bad.json", '{\n  "colors": [\n    {"hex": "#000000"},\n    nope\n  ]\n}\n')
    with pytest.raises(ValueError, match="invalid JSON") as info:
        load_palette(path)
    assert str(info.value).startswith(f"{path}:4: ")


JSON_ERRORS = [
    pytest.param([], 'a JSON object with a "colors" list', id="not-an-object"),
    pytest.param({"colours": []}, 'a JSON object with a "colors" list', id="no-colors"),
    pytest.param({"colors": {"hex": "#000000"}}, 'a JSON object with a "colors" list', id="colors-not-list"),
    pytest.param({"colors": []}, "holds no colours", id="empty"),
    pytest.param({"color_space": "hsv", "colors": [{"hex": "#000000"}]}, "unknown color_space", id="space"),
    pytest.param({"colors": ["#000000"]}, r"colors\[0\]: expected an object", id="entry-not-object"),
    pytest.param(
        {"colors": [{"hex": "#000000"}, {"count": 3}]}, r"colors\[1\]: expected an object", id="no-rgb"
    ),
    pytest.param({"colors": [{"rgb": [1, 2]}]}, r"colors\[0\]: \"rgb\" must be", id="two-values"),
    pytest.param({"colors": [{"rgb": [1, 2, 300]}]}, r"colors\[0\]: \"rgb\" must be", id="out-of-range"),
    pytest.param({"colors": [{"rgb": [1, 2.0, 3]}]}, r"colors\[0\]: \"rgb\" must be", id="float"),
    pytest.param({"colors": [{"rgb": [1, True, 3]}]}, r"colors\[0\]: \"rgb\" must be", id="bool"),
    pytest.param({"colors": [{"rgb": "#000000"}]}, r"colors\[0\]: \"rgb\" must be", id="rgb-string"),
    pytest.param({"colors": [{"hex": "#00000"}]}, r"colors\[0\]: '#00000' is not a colour", id="bad-hex"),
    pytest.param({"colors": [{"hex": 123456}]}, r"colors\[0\]: \"hex\" must be a string", id="hex-number"),
    pytest.param({"colors": [{"hex": "#010203", "rgb": [1, 2, 4]}]}, "disagree", id="disagree"),
    pytest.param({"colors": [{"hex": "#010203", "count": -1}]}, r"\"count\" must be", id="negative-count"),
    pytest.param({"colors": [{"hex": "#010203", "count": 1.5}]}, r"\"count\" must be", id="float-count"),
]


@pytest.mark.parametrize(("content", "message"), JSON_ERRORS)
def test_malformed_json_names_file_and_entry(tmp_path: Path, content: object, message: str) -> None:
    path = write_text(tmp_path / "bad.json", json.dumps(content))
    with pytest.raises(ValueError, match=message) as info:
        load_palette(path)
    assert str(info.value).startswith(f"{path}: ")


JSON_BEYOND_LIMITS = [
    pytest.param('{"colors": [{"hex": "#000000", "count": 9223372036854775808}]}', "count", id="count-2**63"),
    pytest.param('{"colors": [{"hex": "#000000", "count": 1' + "0" * 40 + "}]}", "count", id="count-10**40"),
    pytest.param(
        '{"colors": [{"hex": "#000000", "count": 1' + "0" * 5000 + "}]}", "digits", id="5001-digits"
    ),
    pytest.param('{"colors": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested", id="nested-100000-deep"),
    pytest.param("[" * 100_000, "nested", id="unclosed-100000-deep"),
    pytest.param(
        json.dumps({"colors": [{"hex": "#000000", "count": 2**62}, {"hex": "#ffffff", "count": 2**62}]}),
        "add up",
        id="counts-add-up-to-2**63",
    ),
]


@pytest.mark.parametrize(("text", "message"), JSON_BEYOND_LIMITS)
def test_json_beyond_python_limits_is_a_one_line_value_error(tmp_path: Path, text: str, message: str) -> None:
    """Numbers too large for a count and nesting too deep for the parser (OverflowError and
    RecursionError inside) are malformed files like any other."""
    path = write_text(tmp_path / "huge.json", text)
    with pytest.raises(ValueError, match=message) as info:
        load_palette(path)
    assert str(info.value).startswith(f"{path}")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("name", "text"),
    [("empty.gpl", "GIMP Palette\nName: nothing\n# no colours\n"), ("empty.hex", "\n\n"), ("void.txt", "")],
)
def test_files_without_colours_are_rejected(tmp_path: Path, name: str, text: str) -> None:
    path = write_text(tmp_path / name, text)
    with pytest.raises(ValueError, match=f"^{path}: the file holds no colours$"):
        load_palette(path)


def test_loading_a_png_swatch_is_refused(tmp_path: Path) -> None:
    save_palette(SMALL, tmp_path / "swatch.png")
    with pytest.raises(ValueError, match="PNG swatches can be saved but not loaded") as info:
        load_palette(tmp_path / "swatch.png")
    assert str(tmp_path / "swatch.png") in str(info.value)


def test_non_utf8_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "latin1.gpl"
    path.write_bytes("GIMP Palette\n1 2 3\tCaf\u00e9\n".encode("latin-1"))
    with pytest.raises(ValueError, match="not a UTF-8 text file"):
        load_palette(path)


def test_unknown_suffix_and_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown palette format '\.act'"):
        save_palette(SMALL, tmp_path / "p.act")
    with pytest.raises(ValueError, match=r"unknown palette format '\.act'"):
        load_palette(tmp_path / "p.act")
    with pytest.raises(ValueError, match="unknown palette format 'aco'"):
        save_palette(SMALL, tmp_path / "p.gpl", format="aco")
    assert listing(tmp_path) == []


def test_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_palette(tmp_path / "missing.gpl")


# --- sorting ------------------------------------------------------------------------------------


def counts_by_color(palette: Palette) -> dict[tuple[int, ...], int]:
    return dict(zip(map(tuple, palette.colors.tolist()), palette.counts.tolist(), strict=True))


@pytest.mark.parametrize("by", ["frequency", "luminance", "hue"])
@pytest.mark.parametrize("seed", range(3))
def test_sorting_keeps_colours_with_their_counts(by: str, seed: int) -> None:
    palette = random_palette(seed, n=50)
    ordered = sort_palette(palette, by)
    assert counts_by_color(ordered) == counts_by_color(palette)
    assert ordered.colors.dtype == palette.colors.dtype and len(ordered) == len(palette)


@pytest.mark.parametrize("by", ["frequency", "luminance", "hue"])
def test_sorting_does_not_depend_on_input_order(by: str) -> None:
    palette = random_palette(11, n=60)
    shuffled_order = np.random.default_rng(5).permutation(len(palette))
    shuffled = Palette(palette.colors[shuffled_order], palette.counts[shuffled_order])
    assert np.array_equal(sort_palette(shuffled, by).colors, sort_palette(palette, by).colors)


def test_sorting_keeps_dtype_and_color_space() -> None:
    palette = Palette(np.random.default_rng(0).random((9, 3)).astype(np.float32), color_space="oklab")
    for by in ("frequency", "luminance", "hue"):
        ordered = sort_palette(palette, by)
        assert ordered.colors.dtype == np.float32 and ordered.color_space == "oklab"


def test_frequency_is_count_descending_with_ties_by_colour() -> None:
    colors = np.array([[9, 9, 9], [1, 2, 3], [5, 0, 0], [1, 2, 2], [0, 0, 0]], dtype=np.uint8)
    ordered = sort_palette(Palette(colors, np.array([5, 7, 2, 7, 5])), "frequency")
    assert ordered.colors.tolist() == [[1, 2, 2], [1, 2, 3], [0, 0, 0], [9, 9, 9], [5, 0, 0]]
    assert ordered.counts.tolist() == [7, 7, 5, 5, 2]


@pytest.mark.parametrize("seed", range(3))
def test_luminance_order_follows_published_lightness(seed: int) -> None:
    ordered = sort_palette(random_palette(seed, n=200), "luminance")
    lightness = reference_lightness(ordered.colors)
    assert np.all(np.diff(lightness) >= -1e-9)


def test_luminance_order_of_deep_palette() -> None:
    colors = np.random.default_rng(4).integers(0, 65536, (100, 3)).astype(np.uint16)
    ordered = sort_palette(Palette(colors), "luminance")
    linear = srgb_linear(ordered.colors / 65535.0)
    lightness = 116 * lab_f(linear @ np.array([0.2126729, 0.7151522, 0.0721750])) - 16
    assert np.all(np.diff(lightness) >= -1e-9)


def test_luminance_hand_checked_order() -> None:
    # L*: black 0, blue 32.3, red 53.2, gray 128 53.6, green 87.7, yellow 97.1, white 100.
    colors = [
        [255, 255, 0],
        [0, 0, 255],
        [255, 255, 255],
        [128, 128, 128],
        [255, 0, 0],
        [0, 0, 0],
        [0, 255, 0],
    ]
    ordered = sort_palette(Palette(np.array(colors, dtype=np.uint8)), "luminance")
    assert ordered.colors.tolist() == [
        [0, 0, 0],
        [0, 0, 255],
        [255, 0, 0],
        [128, 128, 128],
        [0, 255, 0],
        [255, 255, 0],
        [255, 255, 255],
    ]


@pytest.mark.parametrize("by", ["luminance", "hue"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_gray_palettes_sort_by_value(by: str, dtype: np.dtype) -> None:
    maximum = np.iinfo(dtype).max if dtype.kind == "u" else 1
    values = (np.array([0.7, 0.1, 1.0, 0.0, 0.4]) * maximum).astype(dtype)
    ordered = sort_palette(Palette(values[:, None], np.arange(5)), by)
    assert ordered.colors[:, 0].tolist() == sorted(values.tolist())
    assert ordered.counts.tolist() == [3, 1, 4, 0, 2]


def test_hue_hand_checked_order() -> None:
    # Hue angles h_ab: red 40, yellow 102, green 136, cyan 197, blue 306, magenta 328 degrees.
    named = {
        "magenta": [255, 0, 255],
        "white": [255, 255, 255],
        "green": [0, 255, 0],
        "red": [255, 0, 0],
        "gray": [128, 128, 128],
        "blue": [0, 0, 255],
        "near-gray": [129, 128, 127],
        "yellow": [255, 255, 0],
        "black": [0, 0, 0],
        "cyan": [0, 255, 255],
    }
    palette = Palette(np.array(list(named.values()), dtype=np.uint8))
    ordered = sort_palette(palette, "hue")
    names = {tuple(color): name for name, color in named.items()}
    assert [names[tuple(color)] for color in ordered.colors.tolist()] == [
        "black",
        "gray",
        "near-gray",
        "white",
        "red",
        "yellow",
        "green",
        "cyan",
        "blue",
        "magenta",
    ]


@pytest.mark.parametrize("seed", range(3))
def test_hue_order_follows_published_lab(seed: int) -> None:
    rng = np.random.default_rng(seed)
    colors = rng.integers(0, 256, (300, 3), dtype=np.uint8)
    # Some near-neutral colours, so that both groups are well populated.
    colors[:60] = np.clip(rng.integers(0, 256, (60, 1)) + rng.integers(-2, 3, (60, 3)), 0, 255)
    lab = reference_lab(colors)
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    # Keep clear of the threshold, where the rounded published constants could disagree.
    colors = colors[np.abs(chroma - ACHROMATIC_CHROMA) > 0.05]
    ordered = sort_palette(Palette(colors), "hue")
    lab = reference_lab(ordered.colors)
    chromatic = np.hypot(lab[:, 1], lab[:, 2]) >= ACHROMATIC_CHROMA
    n_gray = int((~chromatic).sum())
    assert n_gray > 10 and chromatic.sum() > 10
    assert not chromatic[:n_gray].any() and chromatic[n_gray:].all()
    assert np.all(np.diff(lab[:n_gray, 0]) >= -1e-3)
    hue = np.degrees(np.arctan2(lab[n_gray:, 2], lab[n_gray:, 1])) % 360
    assert np.all(np.diff(hue) >= -1e-3)


@pytest.mark.parametrize("by", ["frequency", "luminance", "hue"])
def test_duplicate_colours_are_ordered_by_count(by: str) -> None:
    colors = np.array([[10, 20, 30], [200, 0, 0], [10, 20, 30], [10, 20, 30]], dtype=np.uint8)
    counts = np.array([1, 2, 9, 4])
    orders = {
        tuple(sort_palette(Palette(colors[order], counts[order]), by).counts.tolist())
        for order in ([0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1])
    }
    assert len(orders) == 1
    duplicates = [count for count in orders.pop() if count != 2]
    assert duplicates == [9, 4, 1]


def test_unknown_sort_key() -> None:
    with pytest.raises(ValueError, match="unknown sort key 'brightness'"):
        sort_palette(SMALL, "brightness")


# --- PNG swatch ---------------------------------------------------------------------------------


def read_png(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        assert image.format == "PNG" and image.mode == "RGB"
        return np.asarray(image)


def column_widths(strip: np.ndarray, rgb8: np.ndarray) -> list[int]:
    """Width of each palette colour in a strip whose columns are uniform."""
    assert (strip == strip[:1]).all(), "every column must be one colour"
    row = strip[0]
    return [int(np.all(row == color, axis=1).sum()) for color in rgb8]


def test_png_swatch_widths_follow_shares(tmp_path: Path) -> None:
    palette = random_palette(8, n=12)
    save_palette(palette, tmp_path / "swatch.png")
    strip = read_png(tmp_path / "swatch.png")
    assert strip.shape == (64, 512, 3)
    assert len({tuple(c) for c in palette.colors.tolist()}) == 12
    widths = column_widths(strip, palette.colors)
    assert sum(widths) == 512 and min(widths) >= 1
    assert np.all(np.abs(np.array(widths) - palette.shares * 512) < 1.0)
    # Left to right in palette order.
    firsts = [int(np.flatnonzero(np.all(strip[0] == color, axis=1))[0]) for color in palette.colors]
    assert firsts == sorted(firsts)


def test_swatch_without_counts_has_equal_widths() -> None:
    palette = Palette(SMALL.colors[:2])
    strip = render_swatch(palette, width=100, height=3)
    assert strip.dtype == np.uint8 and strip.shape == (3, 100, 3)
    assert column_widths(strip, palette.colors) == [50, 50]


def test_swatch_shows_unused_colours_with_one_pixel() -> None:
    palette = Palette(SMALL.colors, np.array([1000, 0, 3]))
    widths = column_widths(render_swatch(palette), palette.colors)
    assert widths[1] == 1 and sum(widths) == 512
    assert abs(widths[0] - 1000 / 1003 * 512) <= 2


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_swatch_colours_are_exact_8_bit_values(tmp_path: Path, dtype: np.dtype) -> None:
    maximum = np.iinfo(dtype).max if dtype.kind == "u" else 1
    colors = (np.array([[0.0, 0.2, 1.0], [0.5, 0.5, 0.5]]) * maximum).astype(dtype)
    gray = (np.array([[0.3], [0.9]]) * maximum).astype(dtype)
    for palette, rgb8 in [
        (Palette(colors), to_8bit(colors)),
        (Palette(gray), np.repeat(to_8bit(gray), 3, 1)),
    ]:
        save_palette(palette, tmp_path / "s.png")
        assert column_widths(read_png(tmp_path / "s.png"), rgb8) == [256, 256]


def test_swatch_needs_a_pixel_per_colour(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs width >= 3"):
        render_swatch(SMALL, width=2)
    with pytest.raises(ValueError, match="height >= 1"):
        render_swatch(SMALL, height=0)
    many = Palette((np.arange(513 * 3).reshape(513, 3) % 256).astype(np.uint8))
    with pytest.raises(ValueError, match="513 colours"):
        save_palette(many, tmp_path / "many.png")
    assert listing(tmp_path) == []


# --- atomic saving ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [*TEXT_FORMATS, "png"])
def test_saving_into_a_missing_folder_raises_and_leaves_nothing(tmp_path: Path, fmt: str) -> None:
    target = tmp_path / "missing" / f"p{SUFFIXES[fmt]}"
    with pytest.raises(FileNotFoundError):
        save_palette(SMALL, target)
    assert listing(tmp_path) == []


@pytest.mark.parametrize("fmt", [*TEXT_FORMATS, "png"])
def test_saving_leaves_only_the_target(tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"p{SUFFIXES[fmt]}"
    save_palette(SMALL, target)
    save_palette(random_palette(1), target)  # overwrite
    assert listing(tmp_path) == [target.name]


def test_failed_replace_keeps_the_old_file_and_removes_the_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "p.gpl"
    target.write_text("old content\n")

    def failing_replace(source: object, destination: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        save_palette(SMALL, target)
    assert target.read_text() == "old content\n"
    assert listing(tmp_path) == ["p.gpl"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_saved_files_get_the_usual_permissions(tmp_path: Path, umask: int) -> None:
    previous = os.umask(umask)
    try:
        save_palette(SMALL, tmp_path / "p.hex")
    finally:
        os.umask(previous)
    assert (tmp_path / "p.hex").stat().st_mode & 0o777 == 0o666 & ~umask


def test_module_does_not_import_pillow_except_for_png() -> None:
    code = textwrap.dedent(
        """
        import sys, tempfile, pathlib
        import numpy as np
        from kmeans_quantize import Palette
        from kmeans_quantize.palette_io import load_palette, save_palette, sort_palette, render_swatch
        from kmeans_quantize.metrics import mean_delta_e_2000
        palette = sort_palette(Palette(np.array([[1, 2, 3], [200, 100, 0]], dtype=np.uint8)), "hue")
        render_swatch(palette)
        with tempfile.TemporaryDirectory() as folder:
            for suffix in (".gpl", ".hex", ".json"):
                save_palette(palette, pathlib.Path(folder) / ("p" + suffix))
                load_palette(pathlib.Path(folder) / ("p" + suffix))
            assert "PIL" not in sys.modules
            save_palette(palette, pathlib.Path(folder) / "p.png")
            assert "PIL" in sys.modules
        print("OK")
        """
    )
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert process.returncode == 0, process.stderr
    assert process.stdout.strip() == "OK"
