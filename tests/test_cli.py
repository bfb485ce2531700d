"""The ``kmeans-quantize`` command, run for real (``python -m kmeans_quantize``) on PNG files."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from images import photo
from kmeans_quantize import quantize
from PIL import Image


def run_cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kmeans_quantize", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def write_png(path: Path, pixels: np.ndarray) -> Path:
    Image.fromarray(pixels).save(path)
    return path


def read(path: Path) -> tuple[np.ndarray, str, tuple[int, int]]:
    with Image.open(path) as image:
        image.load()
        return np.asarray(image), image.mode, image.size


def n_colours(pixels: np.ndarray) -> int:
    return len(np.unique(pixels.reshape(pixels.shape[0] * pixels.shape[1], -1), axis=0))


def listing(folder: Path) -> list[str]:
    """Every entry of ``folder``, hidden ones (temporary files) included."""
    return sorted(os.listdir(folder))


def assert_one_line_error(process: subprocess.CompletedProcess[str], *words: str) -> None:
    assert process.returncode != 0
    assert "Traceback" not in process.stderr
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, process.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def rgb_png(tmp_path: Path) -> Path:
    return write_png(tmp_path / "in.png", photo())


# --- success ----------------------------------------------------------------------------------


def test_writes_output_with_at_most_k_colours(rgb_png: Path, tmp_path: Path) -> None:
    input_bytes = rgb_png.read_bytes()
    process = run_cli(rgb_png, "-k", "4", "-o", "out.png", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    assert "Traceback" not in process.stderr
    pixels, mode, size = read(tmp_path / "out.png")
    original, _, original_size = read(rgb_png)
    assert n_colours(original) > 100
    assert size == original_size
    assert mode == "RGB"
    assert pixels.shape == original.shape
    assert 1 <= n_colours(pixels) <= 4
    assert rgb_png.read_bytes() == input_bytes
    assert listing(tmp_path) == ["in.png", "out.png"]


def test_output_is_what_the_library_gives(rgb_png: Path, tmp_path: Path) -> None:
    """Defaults documented in --help: seed 0, rgb space, k-means++."""
    process = run_cli(rgb_png, "-k", "5", "-o", "out.png", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    expected = quantize(read(rgb_png)[0], 5, seed=0).image
    np.testing.assert_array_equal(read(tmp_path / "out.png")[0], expected)


def test_default_output_name_beside_the_input(tmp_path: Path) -> None:
    folder = tmp_path / "pictures"
    folder.mkdir()
    source = write_png(folder / "holiday.png", photo(seed=1))
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    process = run_cli(source, "-k", "3", cwd=elsewhere)
    assert process.returncode == 0, process.stderr
    assert listing(folder) == ["holiday.k3.png", "holiday.png"]
    assert listing(elsewhere) == []
    pixels, _, size = read(folder / "holiday.k3.png")
    assert size == (32, 24)
    assert n_colours(pixels) <= 3


def test_existing_output_kept_without_force(rgb_png: Path, tmp_path: Path) -> None:
    existing = tmp_path / "out.png"
    existing.write_bytes(b"precious")
    process = run_cli(rgb_png, "-k", "4", "-o", existing, cwd=tmp_path)
    assert_one_line_error(process, "out.png")
    assert "exists" in process.stderr or "--force" in process.stderr
    assert existing.read_bytes() == b"precious"
    assert listing(tmp_path) == ["in.png", "out.png"]


@pytest.mark.parametrize("flag", ["--force", "-f"])
def test_force_overwrites(rgb_png: Path, tmp_path: Path, flag: str) -> None:
    existing = tmp_path / "out.png"
    existing.write_bytes(b"old")
    process = run_cli(rgb_png, "-k", "4", "-o", existing, flag, cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    pixels, _, size = read(existing)
    assert size == (32, 24)
    assert n_colours(pixels) <= 4
    assert listing(tmp_path) == ["in.png", "out.png"]


def test_rgba_keeps_alpha(tmp_path: Path) -> None:
    rgba = np.concatenate([photo(seed=2), np.zeros((24, 32, 1), dtype=np.uint8)], axis=2)
    rgba[..., 3] = np.arange(32, dtype=np.uint8)[None, :] * 8
    source = write_png(tmp_path / "a.png", rgba)
    process = run_cli(source, "-k", "4", "-o", "b.png", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    pixels, mode, _ = read(tmp_path / "b.png")
    assert mode == "RGBA"
    np.testing.assert_array_equal(pixels[..., 3], rgba[..., 3])
    # Fully transparent pixels (column 0) keep their colour.
    np.testing.assert_array_equal(pixels[:, 0], rgba[:, 0])
    assert n_colours(pixels[:, 1:, :3]) <= 4


def test_sixteen_bit_gray_stays_sixteen_bit(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    gray16 = (
        (np.linspace(0, 65535, 32)[None, :] + rng.normal(0, 900, (24, 32))).clip(0, 65535).astype(np.uint16)
    )
    source = tmp_path / "deep.png"
    Image.fromarray(gray16).save(source)
    original, source_mode, _ = read(source)
    assert source_mode == "I;16"  # Pillow reads a 16-bit gray PNG as I;16
    process = run_cli(source, "-k", "4", "-o", "deep.k4.png", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    pixels, mode, size = read(tmp_path / "deep.k4.png")
    assert mode == "I;16"
    assert size == (32, 24)
    assert pixels.dtype == np.uint16
    assert n_colours(pixels) <= 4
    np.testing.assert_array_equal(pixels, quantize(original, 4, seed=0).image)
    # Not an 8-bit palette stretched to 16 bits.
    assert not np.all(pixels % 257 == 0)


def test_output_file_has_normal_permissions(rgb_png: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference.txt"
    reference.write_text("made with open(): mode 0666 minus the umask")
    process = run_cli(rgb_png, "-k", "4", "-o", "out.png", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    assert (tmp_path / "out.png").stat().st_mode & 0o777 == reference.stat().st_mode & 0o777


# --- failures: one line on stderr, non-zero exit, nothing left behind -------------------------


def test_missing_input(tmp_path: Path) -> None:
    process = run_cli(tmp_path / "nowhere.png", "-k", "4", "-o", "out.png", cwd=tmp_path)
    assert_one_line_error(process, "nowhere.png")
    assert listing(tmp_path) == []


def test_not_an_image(tmp_path: Path) -> None:
    text = tmp_path / "notes.png"
    text.write_text("this is not a PNG\n")
    process = run_cli(text, "-k", "4", "-o", "out.png", cwd=tmp_path)
    assert_one_line_error(process, "notes.png")
    assert listing(tmp_path) == ["notes.png"]


@pytest.mark.parametrize("k", ["0", "65537"])
def test_bad_k(rgb_png: Path, tmp_path: Path, k: str) -> None:
    process = run_cli(rgb_png, "-k", k, "-o", "out.png", cwd=tmp_path)
    assert_one_line_error(process, "-k")
    assert listing(tmp_path) == ["in.png"]


def test_output_folder_missing(rgb_png: Path, tmp_path: Path) -> None:
    process = run_cli(rgb_png, "-k", "4", "-o", tmp_path / "no" / "such" / "out.png", cwd=tmp_path)
    assert_one_line_error(process)
    assert "folder" in process.stderr or "directory" in process.stderr
    assert listing(tmp_path) == ["in.png"]


@pytest.mark.parametrize(
    ("spelling", "extra"), [("in.png", []), ("./in.png", ["--force"]), ("absolute", ["--force"])]
)
def test_output_equal_to_input_refused(
    rgb_png: Path, tmp_path: Path, spelling: str, extra: list[str]
) -> None:
    input_bytes = rgb_png.read_bytes()
    output = str(rgb_png) if spelling == "absolute" else spelling
    process = run_cli(rgb_png, "-k", "4", "-o", output, *extra, cwd=tmp_path)
    assert_one_line_error(process, "in.png")
    assert rgb_png.read_bytes() == input_bytes
    assert listing(tmp_path) == ["in.png"]


def test_unknown_output_format(rgb_png: Path, tmp_path: Path) -> None:
    process = run_cli(rgb_png, "-k", "4", "-o", "out.nosuchformat", cwd=tmp_path)
    assert_one_line_error(process, "out.nosuchformat")
    assert listing(tmp_path) == ["in.png"]


@pytest.mark.parametrize("suffix", [".jpg", ".bmp"])
def test_no_temporary_file_left_when_writing_fails(tmp_path: Path, suffix: str) -> None:
    """A 16-bit image cannot be saved as JPEG/BMP by Pillow: the write fails after the
    temporary file exists. Either the CLI converts (and succeeds) or it reports one line;
    in both cases nothing but the finished output may be left in the folder."""
    gray16 = np.linspace(0, 65535, 24 * 32).reshape(24, 32).astype(np.uint16)
    source = tmp_path / "deep.png"
    Image.fromarray(gray16).save(source)
    target = "out" + suffix
    process = run_cli(source, "-k", "4", "-o", target, cwd=tmp_path)
    assert "Traceback" not in process.stderr
    if process.returncode == 0:
        assert listing(tmp_path) == sorted(["deep.png", target])
        if suffix != ".jpg":  # JPEG is lossy: it blurs the 4 levels
            assert n_colours(read(tmp_path / target)[0]) <= 4
    else:
        assert_one_line_error(process, target)
        assert listing(tmp_path) == ["deep.png"]


# --- formats, many inputs, palettes, indexed output, report -----------------------------------


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp", ".tif", ".webp", ".gif"])
def test_format_round_trip(tmp_path: Path, suffix: str) -> None:
    source = tmp_path / f"in{suffix}"
    Image.fromarray(photo(40, 48, seed=3)).convert("RGB").save(source)
    process = run_cli(source, "-k", "6", "-o", f"out{suffix}", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    pixels, _, size = read(tmp_path / f"out{suffix}")
    assert size == (48, 40)
    if suffix not in (".jpg", ".webp"):  # lossy formats blur the palette
        assert n_colours(pixels) <= 6


def test_many_inputs_to_an_output_folder_in_parallel(tmp_path: Path) -> None:
    sources = [write_png(tmp_path / f"frame{i}.png", photo(seed=i)) for i in range(4)]
    (tmp_path / "out").mkdir()
    process = run_cli(*sources, "-k", "5", "--out-dir", "out", "--jobs", "2", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    assert listing(tmp_path / "out") == [f"frame{i}.k5.png" for i in range(4)]


def test_one_bad_input_fails_alone(rgb_png: Path, tmp_path: Path) -> None:
    (tmp_path / "broken.png").write_text("not a png")
    process = run_cli(rgb_png, "broken.png", "-k", "4", cwd=tmp_path)
    assert process.returncode == 1
    assert "Traceback" not in process.stderr
    assert "broken.png" in process.stderr and "1 of 2 images failed" in process.stderr
    assert (tmp_path / "in.k4.png").exists()
    assert not (tmp_path / "broken.k4.png").exists()


def test_shared_palette_gives_every_file_the_same_palette(tmp_path: Path) -> None:
    sources = [write_png(tmp_path / f"s{i}.png", photo(seed=10 + i)) for i in range(3)]
    process = run_cli(*sources, "-k", "6", "--shared-palette", "--palette-out", "shared.gpl", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    palette_rows = [
        tuple(int(v) for v in line.split()[:3])
        for line in (tmp_path / "shared.gpl").read_text().splitlines()[3:]
        if line and not line.startswith("#")
    ]
    allowed = set(palette_rows)
    assert len(allowed) <= 6
    for i in range(3):
        pixels, _, _ = read(tmp_path / f"s{i}.k{len(allowed)}.png")
        assert {tuple(int(v) for v in row) for row in pixels.reshape(-1, 3)} <= allowed


def test_palette_file_is_a_gimp_palette_and_can_be_applied(rgb_png: Path, tmp_path: Path) -> None:
    process = run_cli(rgb_png, "-k", "5", "--palette-out", "pal.gpl", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    lines = (tmp_path / "pal.gpl").read_text().splitlines()
    assert lines[0] == "GIMP Palette"
    assert lines[1].startswith("Name: ")
    assert lines[2].startswith("Columns: ")
    other = write_png(tmp_path / "other.png", photo(seed=7))
    process = run_cli(other, "--palette-in", "pal.gpl", "-o", "remapped.png", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    quantized, _, _ = read(tmp_path / "in.k5.png")
    remapped, _, _ = read(tmp_path / "remapped.png")
    palette = {tuple(int(v) for v in row) for row in quantized.reshape(-1, 3)}
    assert {tuple(int(v) for v in row) for row in remapped.reshape(-1, 3)} <= palette


def test_fixed_colours_are_in_the_output_palette(rgb_png: Path, tmp_path: Path) -> None:
    process = run_cli(
        rgb_png, "-k", "6", "--fixed-colors", "#ff0000,00FF00", "--palette-out", "p.hex", cwd=tmp_path
    )
    assert process.returncode == 0, process.stderr
    hexes = (tmp_path / "p.hex").read_text().lower().split()
    assert "#ff0000" in hexes and "#00ff00" in hexes


def test_bad_fixed_colour_is_one_line(rgb_png: Path, tmp_path: Path) -> None:
    process = run_cli(rgb_png, "--fixed-colors", "#ff00", cwd=tmp_path)
    assert_one_line_error(process, "--fixed-colors")


def test_indexed_png_is_smaller_and_has_a_palette(tmp_path: Path) -> None:
    source = write_png(tmp_path / "big.png", photo(120, 160, seed=4))
    assert run_cli(source, "-k", "16", "-o", "rgb.png", cwd=tmp_path).returncode == 0
    process = run_cli(source, "-k", "16", "--indexed", "-o", "indexed.png", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    indexed, mode, _ = read(tmp_path / "indexed.png")
    rgb, _, _ = read(tmp_path / "rgb.png")
    assert mode == "P"
    assert (tmp_path / "indexed.png").stat().st_size < (tmp_path / "rgb.png").stat().st_size
    with Image.open(tmp_path / "indexed.png") as image:
        np.testing.assert_array_equal(np.asarray(image.convert("RGB")), rgb)


def test_indexed_keeps_binary_transparency(tmp_path: Path) -> None:
    pixels = np.dstack([photo(seed=5), np.full((24, 32), 255, dtype=np.uint8)])
    pixels[:, :8, 3] = 0
    source = write_png(tmp_path / "sprite.png", pixels)
    process = run_cli(source, "-k", "4", "--indexed", "-o", "sprite.gif", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    with Image.open(tmp_path / "sprite.gif") as image:
        rgba = np.asarray(image.convert("RGBA"))
    assert (rgba[:, :8, 3] == 0).all() and (rgba[:, 8:, 3] == 255).all()


def test_indexed_refuses_partial_transparency_instead_of_making_it_opaque(tmp_path: Path) -> None:
    pixels = np.dstack([photo(seed=5), np.full((24, 32), 255, dtype=np.uint8)])
    pixels[:, :8, 3] = 0
    pixels[:4, 8:, 3] = 128  # half transparent: an indexed image cannot hold it
    source = write_png(tmp_path / "sprite.png", pixels)
    process = run_cli(source, "-k", "4", "--indexed", "-o", "out.png", cwd=tmp_path)
    assert process.returncode != 0
    assert "Traceback" not in process.stderr
    assert "partial transparency" in process.stderr and "--indexed" in process.stderr, process.stderr
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("dither", ["floyd-steinberg", "ordered"])
def test_dithering_from_the_command_line(rgb_png: Path, tmp_path: Path, dither: str) -> None:
    process = run_cli(rgb_png, "-k", "4", "--dither", dither, "-o", "d.png", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    pixels, _, _ = read(tmp_path / "d.png")
    assert n_colours(pixels) <= 4


def test_report_prints_the_figures(rgb_png: Path, tmp_path: Path) -> None:
    process = run_cli(rgb_png, "-k", "4", "--report", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    line = process.stdout.strip()
    for word in ("4 colours", "iteration", "MSE", "PSNR", "dE2000", "bytes", " s"):
        assert word in line, line


def test_report_says_one_colour_not_one_colours(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (3, 2), (10, 20, 30)).save(tmp_path / "flat.png")
    process = run_cli(tmp_path / "flat.png", "-k", "4", "--report", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    assert ": 1 colour, 0 iterations," in process.stdout, process.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("-o", "a.png", "--out-dir", "."), ("not allowed with",)),
        (("--out-dir", "missing"), ("missing", "no such folder")),
        (("--jobs", "0"), ("--jobs",)),
        (("--seed", "-1"), ("--seed",)),
        (("--palette-in", "nope.gpl"), ("--palette-in",)),
        (("--indexed", "-k", "300"), ("--indexed", "256")),
        (("--indexed", "-o", "x.jpg"), ("--indexed",)),
    ],
)
def test_option_mistakes_are_one_line(
    rgb_png: Path, tmp_path: Path, args: tuple[str, ...], words: tuple[str, ...]
) -> None:
    process = run_cli(rgb_png, *args, cwd=tmp_path)
    assert process.returncode != 0
    assert "Traceback" not in process.stderr
    assert all(word in process.stderr for word in words), process.stderr


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("channels", [3, 4])
def test_sixteen_bit_colour_stays_sixteen_bit(tmp_path: Path, suffix: str, channels: int) -> None:
    """Pillow reads 16-bit RGB as 8-bit; the CLI must not lose the depth."""
    import png
    import tifffile

    rng = np.random.default_rng(6)
    y, x = np.mgrid[0:20, 0:30]
    deep = np.stack([x * 2000, y * 3000, (x + y) * 1200, np.full_like(x, 65535)], axis=-1)[..., :channels]
    deep = np.clip(deep + rng.integers(0, 500, deep.shape), 0, 65535).astype(np.uint16)
    if channels == 4:
        deep[:5, :5, 3] = 0
    source = tmp_path / f"deep{suffix}"
    if suffix == ".png":
        writer = png.Writer(width=30, height=20, bitdepth=16, greyscale=False, alpha=channels == 4)
        with open(source, "wb") as handle:
            writer.write(handle, deep.reshape(20, -1))
    else:
        tifffile.imwrite(source, deep, photometric="rgb")
    process = run_cli(source, "-k", "5", "-o", f"out{suffix}", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    out = tifffile.imread(tmp_path / "out.tif") if suffix == ".tif" else None
    if out is None:
        width, height, rows, info = png.Reader(filename=str(tmp_path / "out.png")).asDirect()
        assert info["bitdepth"] == 16
        out = np.vstack([np.asarray(row, dtype=np.uint16) for row in rows]).reshape(height, width, channels)
    assert out.dtype == np.uint16 and out.shape == deep.shape
    expected = quantize(deep, 5, seed=0).image
    np.testing.assert_array_equal(out, expected)


def test_float_tiff_gets_a_sixteen_bit_png_by_default(tmp_path: Path) -> None:
    """PNG cannot hold floats: the default output keeps 16 bits of them rather than failing."""
    from PIL import Image

    rng = np.random.default_rng(8)
    y, x = np.mgrid[0:20, 0:30]
    gray = np.clip((x + y) / 48 + rng.normal(0, 0.02, x.shape), 0, 1).astype(np.float32)
    Image.fromarray(gray, "F").save(tmp_path / "float.tif")
    process = run_cli(tmp_path / "float.tif", "-k", "4", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    with Image.open(tmp_path / "float.k4.png") as written:
        assert written.mode == "I;16"
        out = np.asarray(written)
    expected = np.rint(quantize(gray, 4, seed=0).image.astype(np.float64) * 65535).astype(np.uint16)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("suffix", [".gif", ".png", ".webp"])
def test_an_animation_is_refused_not_cut_to_its_first_frame(tmp_path: Path, suffix: str) -> None:
    from PIL import Image

    rng = np.random.default_rng(9)
    frames = [Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)) for _ in range(3)]
    frames[0].save(tmp_path / f"anim{suffix}", save_all=True, append_images=frames[1:])
    process = run_cli(tmp_path / f"anim{suffix}", "-k", "4", cwd=tmp_path)
    assert process.returncode != 0
    assert "Traceback" not in process.stderr
    assert "animation (3 frames)" in process.stderr and "--shared-palette" in process.stderr
    assert not (tmp_path / "anim.k4.png").exists()


def test_a_multi_page_tiff_gives_its_first_page(tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(10)
    pages = [rng.integers(0, 256, (12, 16, 3), dtype=np.uint8) for _ in range(2)]
    Image.fromarray(pages[0]).save(
        tmp_path / "pages.tif", save_all=True, append_images=[Image.fromarray(pages[1])]
    )
    process = run_cli(tmp_path / "pages.tif", "-k", "4", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    with Image.open(tmp_path / "pages.k4.png") as written:
        np.testing.assert_array_equal(np.asarray(written), quantize(pages[0], 4, seed=0).image)


def test_two_inputs_that_would_write_one_file_are_refused_before_any_work(tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(11)
    for folder in ("a", "b", "out"):
        (tmp_path / folder).mkdir()
    for folder in ("a", "b"):
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(tmp_path / folder / "img.png")
    for inputs, words in (
        (("a/img.png", "b/img.png"), ("a/img.png and b/img.png", "out/img.k4.png")),
        (("a/img.png", "a/img.png"), ("a/img.png is given twice",)),
    ):
        process = run_cli(*inputs, "-k", "4", "--out-dir", "out", "--force", cwd=tmp_path)
        assert process.returncode != 0
        assert "Traceback" not in process.stderr
        assert all(word in process.stderr for word in words), process.stderr
        assert not (tmp_path / "out" / "img.k4.png").exists()


def test_output_that_is_a_folder_is_named_as_such(rgb_png: Path, tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    process = run_cli(rgb_png, "-k", "4", "-o", "folder", "--force", cwd=tmp_path)
    assert process.returncode != 0
    assert "is a folder" in process.stderr and "--out-dir" in process.stderr, process.stderr
    assert (tmp_path / "folder").is_dir()


def test_palette_out_is_checked_before_any_work(rgb_png: Path, tmp_path: Path) -> None:
    (tmp_path / "kept.gpl").write_text("GIMP Palette\n")
    for args, words in (
        (("--palette-out", "p.xyz"), ("--palette-out", ".gpl")),
        (("--palette-out", "missing/p.gpl"), ("--palette-out", "no such folder")),
        (("--palette-out", "kept.gpl"), ("--palette-out", "--force")),
    ):
        process = run_cli(rgb_png, "-k", "4", *args, cwd=tmp_path)
        assert_one_line_error(process, *words)
    assert listing(tmp_path) == ["in.png", "kept.gpl"]
    assert (tmp_path / "kept.gpl").read_text() == "GIMP Palette\n"


# --- nothing read is ever written, nothing is written twice (checked before any work) ---------


def test_an_output_that_is_another_input_is_refused_even_with_force(tmp_path: Path) -> None:
    """``kmeans-quantize *.png --force`` run twice in a folder: ``a.k8.png`` is an input and the
    output of ``a.png``. It must not be overwritten (and then quantized again)."""
    first = write_png(tmp_path / "a.png", photo(seed=1))
    second = write_png(tmp_path / "a.k8.png", photo(seed=2))
    before = second.read_bytes()
    for jobs in ("1", "2"):
        process = run_cli(first, second, "--force", "-j", jobs, cwd=tmp_path)
        assert_one_line_error(process, "a.k8.png", "output of", "input")
        assert second.read_bytes() == before
        assert listing(tmp_path) == ["a.k8.png", "a.png"]


@pytest.mark.parametrize("link", ["symbolic", "hard"])
def test_an_output_that_is_a_link_to_an_input_is_refused(rgb_png: Path, tmp_path: Path, link: str) -> None:
    alias = tmp_path / "alias.png"
    if link == "symbolic":
        alias.symlink_to(rgb_png)
    else:
        os.link(rgb_png, alias)
    before = rgb_png.read_bytes()
    process = run_cli(rgb_png, "-k", "4", "-o", alias, "--force", cwd=tmp_path)
    assert_one_line_error(process, "alias.png", "input")
    assert rgb_png.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "words"),
    [
        pytest.param(
            ["a.png", "a.k2.png", "-k", "2", "--shared-palette", "--out-dir", "."],
            ("a.k2.png", "output of a.png", "input"),
            id="shared-palette-output-is-an-input",
        ),
        pytest.param(
            ["a.png", "a.k2.png", "--palette-in", "p.gpl", "--out-dir", "."],
            ("a.k2.png", "output of a.png", "input"),
            id="palette-in-output-is-an-input",
        ),
        pytest.param(
            ["a.png", "-k", "4", "--palette-out", "a.png"],
            ("a.png", "--palette-out", "input"),
            id="palette-out-is-the-input",
        ),
        pytest.param(
            ["a.png", "-k", "4", "-o", "out.png", "--palette-out", "out.png"],
            ("out.png", "--palette-out", "output of a.png"),
            id="palette-out-is-the-output",
        ),
        pytest.param(
            ["a.png", "--palette-in", "p.gpl", "--palette-out", "p.gpl"],
            ("p.gpl", "--palette-out", "--palette-in"),
            id="palette-out-is-the-palette-in",
        ),
    ],
)
def test_no_mode_writes_a_file_it_reads_or_one_file_twice(
    tmp_path: Path, args: list[str], words: tuple[str, ...]
) -> None:
    """Every mode (plain, --shared-palette, --palette-in) and every written file (images,
    --palette-out) follows the rule, whatever --force says; nothing at all is written."""
    write_png(tmp_path / "a.png", photo(seed=1))
    write_png(tmp_path / "a.k2.png", photo(seed=2))
    (tmp_path / "out.png").write_bytes(b"kept")
    (tmp_path / "p.gpl").write_text("GIMP Palette\n  0   0   0\n255 255 255\n")
    before = {name: (tmp_path / name).read_bytes() for name in listing(tmp_path)}
    process = run_cli(*args, "--force", cwd=tmp_path)
    assert_one_line_error(process, *words)
    assert {name: (tmp_path / name).read_bytes() for name in listing(tmp_path)} == before


# --- outputs that cannot hold the result, and mistakes found only after the work -------------


def gif_with_png_header_claiming(path: Path, width: int, height: int) -> Path:
    """A tiny real PNG whose header claims ``width`` x ``height`` (a decompression bomb's trick)."""
    import struct
    import zlib

    write_png(path, photo(4, 4))
    data = bytearray(path.read_bytes())
    # IHDR: length (4), type (4), width (4), height (4) ... then its CRC over type + data (13 bytes)
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_decompression_bomb_is_one_line_and_the_other_inputs_finish(tmp_path: Path, jobs: str) -> None:
    bomb = gif_with_png_header_claiming(tmp_path / "bomb.png", 100_000, 100_000)
    good = write_png(tmp_path / "good.png", photo())
    process = run_cli(bomb, good, "-k", "4", "-j", jobs, cwd=tmp_path)
    assert process.returncode == 1
    assert "Traceback" not in process.stderr
    assert "bomb.png" in process.stderr and "--max-megapixels" in process.stderr, process.stderr
    assert (tmp_path / "good.k4.png").exists()
    assert not (tmp_path / "bomb.k4.png").exists()


def test_the_pixel_limit_is_documented_and_can_be_raised(tmp_path: Path) -> None:
    """A header claiming 108 MP is refused by the default limit of 100 MP, not decoded with a
    raw warning; raising the limit lets it be read (and this one then fails as the fake it is)."""
    claim = gif_with_png_header_claiming(tmp_path / "claim.png", 12_000, 9_000)
    refused = run_cli(claim, "-k", "4", cwd=tmp_path)
    assert_one_line_error(refused, "claim.png", "108 MP", "100 MP", "--max-megapixels")
    allowed = run_cli(claim, "-k", "4", "--max-megapixels", "200", cwd=tmp_path)
    assert_one_line_error(allowed, "claim.png")
    assert "--max-megapixels" not in allowed.stderr and "Warning" not in allowed.stderr


def test_a_32_bit_integer_tiff_is_refused_not_clipped_to_8_bits(tmp_path: Path) -> None:
    values = (np.arange(24 * 32, dtype=np.int32) * 5_000).reshape(24, 32)
    source = tmp_path / "deep.tif"
    Image.fromarray(values).save(source)
    with Image.open(source) as image:
        assert image.mode == "I"
    process = run_cli(source, "-k", "4", cwd=tmp_path)
    assert_one_line_error(process, "deep.tif", "32-bit integer")
    assert listing(tmp_path) == ["deep.tif"]


def test_gif_with_more_than_256_colours_is_refused_before_work(tmp_path: Path) -> None:
    source = write_png(tmp_path / "in.png", photo(64, 64))
    process = run_cli(source, "-k", "300", "-o", "out.gif", cwd=tmp_path)
    assert_one_line_error(process, "out.gif", "GIF", "256")
    assert listing(tmp_path) == ["in.png"]


def test_gif_keeps_the_exact_palette_and_binary_transparency(tmp_path: Path) -> None:
    """A GIF is a palette image: it is written from the labels, as --indexed does, so Pillow
    never quantizes it a second time (RGBA input used to lose about a third of its colours)."""
    pixels = np.dstack([photo(48, 64, seed=8), np.full((48, 64), 255, dtype=np.uint8)])
    pixels[:, :10, 3] = 0
    source = write_png(tmp_path / "sprite.png", pixels)
    assert run_cli(source, "-k", "200", "-o", "out.png", cwd=tmp_path).returncode == 0
    process = run_cli(source, "-k", "200", "-o", "out.gif", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    png_pixels, _, _ = read(tmp_path / "out.png")
    with Image.open(tmp_path / "out.gif") as image:
        gif_pixels = np.asarray(image.convert("RGBA"))
    visible = png_pixels[..., 3] > 0
    np.testing.assert_array_equal(gif_pixels[..., 3] > 0, visible)
    np.testing.assert_array_equal(gif_pixels[visible][:, :3], png_pixels[visible][:, :3])


def test_gif_refuses_partial_transparency_and_says_what_works(tmp_path: Path) -> None:
    pixels = np.dstack([photo(seed=5), np.full((24, 32), 128, dtype=np.uint8)])
    source = write_png(tmp_path / "glass.png", pixels)
    process = run_cli(source, "-k", "4", "-o", "out.gif", cwd=tmp_path)
    assert_one_line_error(process, "out.gif", "partial transparency", "PNG")
    assert listing(tmp_path) == ["glass.png"]


def test_palette_in_with_palette_out_saves_the_palette(tmp_path: Path) -> None:
    source = write_png(tmp_path / "in.png", photo())
    (tmp_path / "bw.hex").write_text("#000000\n#ffffff\n")
    process = run_cli(
        source, "--palette-in", "bw.hex", "--palette-out", "bw.gpl", "-o", "out.png", cwd=tmp_path
    )
    assert process.returncode == 0, process.stderr
    rows = [line.split()[:3] for line in (tmp_path / "bw.gpl").read_text().splitlines()[4:]]
    assert rows == [["0", "0", "0"], ["255", "255", "255"]]


def test_palette_in_with_k_is_refused_not_ignored(rgb_png: Path, tmp_path: Path) -> None:
    (tmp_path / "bw.hex").write_text("#000000\n#ffffff\n")
    process = run_cli(rgb_png, "--palette-in", "bw.hex", "-k", "8", cwd=tmp_path)
    assert_one_line_error(process, "--palette-in", "-k")
    assert listing(tmp_path) == ["bw.hex", "in.png"]


def test_indexed_with_transparency_and_256_colours_is_refused_before_work(tmp_path: Path) -> None:
    pixels = np.dstack([photo(64, 64, seed=6), np.full((64, 64), 255, dtype=np.uint8)])
    pixels[:4, :, 3] = 0
    source = write_png(tmp_path / "sprite.png", pixels)
    process = run_cli(source, "-k", "256", "--indexed", "-o", "out.png", cwd=tmp_path)
    assert_one_line_error(process, "sprite.png", "transparent", "-k 255")
    assert listing(tmp_path) == ["sprite.png"]


def test_a_palette_in_too_big_for_indexed_is_refused_before_work(rgb_png: Path, tmp_path: Path) -> None:
    codes = [f"#{index:06x}" for index in range(0, 300 * 997, 997)]
    (tmp_path / "big.hex").write_text("\n".join(codes) + "\n")
    process = run_cli(rgb_png, "--palette-in", "big.hex", "--indexed", "-o", "out.png", cwd=tmp_path)
    assert_one_line_error(process, "--indexed", "256", "300")
    assert listing(tmp_path) == ["big.hex", "in.png"]


def test_a_swatch_too_wide_for_palette_out_png_is_refused_before_work(rgb_png: Path, tmp_path: Path) -> None:
    """The image used to be written, and the run failed afterwards on the palette."""
    process = run_cli(rgb_png, "-k", "600", "--palette-out", "p.png", "-o", "out.png", cwd=tmp_path)
    assert_one_line_error(process, "--palette-out", "512")
    assert listing(tmp_path) == ["in.png"]


def test_fixed_colour_mistakes_are_caught_once_in_command_line_words(tmp_path: Path) -> None:
    inputs = [write_png(tmp_path / f"in{index}.png", photo(seed=index)) for index in range(2)]
    for fixed, words in (
        ("#000000,#ffffff,#000000", ("#000000", "twice")),
        ("#000000,#ffffff,#ff0000", ("3", "-k 2")),
    ):
        process = run_cli(*inputs, "-k", "2", "--fixed-colors", fixed, "--out-dir", ".", cwd=tmp_path)
        assert_one_line_error(process, "--fixed-colors", *words)
        assert "n_colors" not in process.stderr
    assert listing(tmp_path) == ["in0.png", "in1.png"]


def test_a_fully_transparent_image_is_explained_in_command_line_words(tmp_path: Path) -> None:
    source = write_png(tmp_path / "empty.png", np.zeros((8, 8, 4), dtype=np.uint8))
    process = run_cli(source, "-k", "4", cwd=tmp_path)
    assert_one_line_error(process, "empty.png", "fully transparent")
    assert "mask" not in process.stderr


@pytest.mark.parametrize("option", ["-o", "--palette-out"])
def test_a_write_error_names_the_destination_not_a_temporary_or_the_input(
    rgb_png: Path, tmp_path: Path, option: str
) -> None:
    """A name one character too long for the file system: the write fails on every machine, as
    root too (which no folder permission stops)."""
    destination = "y" * 252 + (".png" if option == "-o" else ".gpl")
    args = ["-o", destination] if option == "-o" else ["-o", "out.png", "--palette-out", destination]
    process = run_cli(rgb_png, "-k", "4", *args, cwd=tmp_path)
    assert_one_line_error(process, destination, "cannot write")
    assert ".tmp" not in process.stderr
    assert "in.png" not in process.stderr
    assert not [name for name in listing(tmp_path) if name.endswith(".tmp")]


def test_a_long_but_valid_output_name_is_written(rgb_png: Path, tmp_path: Path) -> None:
    """255 bytes is a valid name; its temporary file's name must not be longer than that."""
    destination = "y" * 251 + ".png"
    process = run_cli(rgb_png, "-k", "4", "-o", destination, cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    assert listing(tmp_path) == sorted(["in.png", destination])


# --- standard input and output -----------------------------------------------------------------


def test_standard_input_to_standard_output(rgb_png: Path, tmp_path: Path) -> None:
    """``cat a.png | kmeans-quantize - -o - > b.png``, as pngquant users expect."""
    process = subprocess.run(
        [sys.executable, "-m", "kmeans_quantize", "-", "-o", "-", "-k", "4", "--report"],
        input=rgb_png.read_bytes(),
        capture_output=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert process.returncode == 0, process.stderr
    (tmp_path / "piped.png").write_bytes(process.stdout)
    piped, mode, _ = read(tmp_path / "piped.png")
    assert mode == "RGB"
    np.testing.assert_array_equal(piped, quantize(read(rgb_png)[0], 4, seed=0).image)
    assert b"<stdout>: 4 colours" in process.stderr  # the report stays off the image's stream
    assert listing(tmp_path) == ["in.png", "piped.png"]


@pytest.mark.parametrize(
    ("args", "mode"), [(["-o", "-", "--format", "gif"], "P"), ([], "RGB")], ids=["gif", "default"]
)
def test_standard_output_format(rgb_png: Path, tmp_path: Path, args: list[str], mode: str) -> None:
    """Input ``-`` without -o writes standard output too; --format picks the format (PNG by default)."""
    process = subprocess.run(
        [sys.executable, "-m", "kmeans_quantize", "-", "-k", "4", *args],
        input=rgb_png.read_bytes(),
        capture_output=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert process.returncode == 0, process.stderr
    with Image.open(io.BytesIO(process.stdout)) as image:
        assert image.mode == mode
        assert image.format == ("GIF" if args else "PNG")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["-", "--out-dir", "."], ("standard input", "-o")),
        (["-", "-", "-o", "-"], ("standard input",)),
        (["in.png", "--format", "gif"], ("--format", "standard output")),
    ],
    ids=["stdin-out-dir", "stdin-twice", "format-for-a-file"],
)
def test_standard_stream_mistakes_are_one_line(
    rgb_png: Path, tmp_path: Path, args: list[str], words: tuple[str, ...]
) -> None:
    process = subprocess.run(
        [sys.executable, "-m", "kmeans_quantize", *args],
        input=b"",
        capture_output=True,
        text=False,
        cwd=tmp_path,
        timeout=120,
    )
    assert process.returncode == 1
    stderr = process.stderr.decode()
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert all(word in stderr for word in words), stderr


# --- gray images with palettes and fixed colours ------------------------------------------------


def gray_png(path: Path) -> Path:
    Image.fromarray(photo(seed=9)[..., 0]).save(path)
    return path


def test_a_gray_image_takes_a_palette_file_of_grays(tmp_path: Path) -> None:
    source = gray_png(tmp_path / "gray.png")
    (tmp_path / "grays.hex").write_text("#000000\n#808080\n#ffffff\n")
    process = run_cli(source, "--palette-in", "grays.hex", "-o", "out.png", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    out, mode, _ = read(tmp_path / "out.png")
    assert mode == "L"
    assert set(np.unique(out)) <= {0, 128, 255}
    original = read(source)[0].astype(int)
    nearest = np.array([0, 128, 255])[np.abs(original[..., None] - [0, 128, 255]).argmin(axis=-1)]
    np.testing.assert_array_equal(out, nearest)


def test_a_gray_image_keeps_gray_fixed_colours(tmp_path: Path) -> None:
    source = gray_png(tmp_path / "gray.png")
    process = run_cli(source, "-k", "4", "--fixed-colors", "#000000,#ffffff", "-o", "out.png", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    out, mode, _ = read(tmp_path / "out.png")
    assert mode == "L" and {0, 255} <= set(np.unique(out).tolist()) and len(np.unique(out)) <= 4


@pytest.mark.parametrize(
    "args",
    [["--palette-in", "colours.hex"], ["-k", "4", "--fixed-colors", "#000000,#ff0000"]],
    ids=["palette-in", "fixed-colors"],
)
def test_colours_on_a_gray_image_say_what_would_work(tmp_path: Path, args: list[str]) -> None:
    source = gray_png(tmp_path / "gray.png")
    (tmp_path / "colours.hex").write_text("#000000\n#ff0000\n")
    process = run_cli(source, *args, "-o", "out.png", cwd=tmp_path)
    assert_one_line_error(process, "gray.png", "gray colours (R = G = B)", "#ff0000")
    assert not (tmp_path / "out.png").exists()
