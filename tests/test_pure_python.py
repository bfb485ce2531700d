"""The numpy-free engine (kmeans_quantize.pure_*) against the numpy engine.

The engine must import and run where numpy cannot be imported (checked in a child interpreter
whose imports of numpy fail), give the numpy engine's answers where it promises to (colour
conversions, Lloyd's iterations from the same centres, the final nearest-colour mapping, few-colour
images), and otherwise results of about its quality, with the same alpha, mask and palette rules.
numpy is used here only to check it.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from kmeans_quantize import Palette, apply_palette, colorspace, pure_quantize, quantize
from kmeans_quantize.kmeans import WeightedPoints as NumpyPoints
from kmeans_quantize.kmeans import lloyd as numpy_lloyd
from kmeans_quantize.pure_cells import CellAssigner, cell_mask, cells_of
from kmeans_quantize.pure_colorspace import lab_to_srgb, linear_to_lab, linear_to_oklab, oklab_to_srgb
from kmeans_quantize.pure_colorspace import srgb_to_linear as pure_srgb_to_linear
from kmeans_quantize.pure_kmeans import PointAssigner, WeightedPoints, lloyd
from kmeans_quantize.pure_quantize import apply_coverage, quantize_bytes
from kmeans_quantize.pure_space import space
from kmeans_quantize.pure_splitmerge import split_merge
from kmeans_quantize.space import decode, encode
from kmeans_quantize.stopping import Stopping

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "sample.png"

BLOCK_NUMPY = textwrap.dedent(
    """
    import sys

    class BlockNumpy:
        def find_spec(self, name, path=None, target=None):
            if name == "numpy" or name.startswith("numpy."):
                raise ImportError(f"numpy is blocked in this test ({name})")
            return None

    sys.meta_path.insert(0, BlockNumpy())
    try:
        import numpy  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("the numpy blocker does not work")
    """
)


def run_without_numpy(body: str) -> subprocess.CompletedProcess[str]:
    code = BLOCK_NUMPY + textwrap.dedent(body) + '\nassert "numpy" not in sys.modules\nprint("OK")\n'
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def assert_ok(process: subprocess.CompletedProcess[str]) -> None:
    assert process.returncode == 0, process.stderr
    assert process.stdout.strip().splitlines()[-1] == "OK", process.stdout


def test_package_and_engine_import_and_run_without_numpy() -> None:
    assert_ok(
        run_without_numpy(
            """
            import kmeans_quantize
            assert kmeans_quantize.__version__
            from kmeans_quantize.pure_quantize import quantize_bytes, apply_coverage
            pixels = bytes((7 * i) % 256 for i in range(20 * 16 * 4))
            coverage = bytes((0, 128, 255, 255) * (20 * 16 // 4))
            for fmt, size in (("R'G'B'A u8", 4), ("RGB", 3), ("Y'A u8", 2), ("Y", 1)):
                for color_space in ("rgb", "lab", "oklab"):
                    result = quantize_bytes(
                        pixels[: 20 * 16 * size], 20, 16, fmt, 5, color_space=color_space, seed=3,
                        coverage=coverage, labels=True,
                    )
                    assert len(result.pixels) == 20 * 16 * size and 1 <= len(result.palette) <= 5
            assert len(apply_coverage(pixels[: 20 * 16 * 2], coverage, "Y'A u8")) == 20 * 16 * 2
            try:
                kmeans_quantize.quantize
            except ImportError:
                pass
            else:
                raise SystemExit("the numpy engine imported without numpy")
            """
        )
    )


def test_blocker_detects_an_import_of_numpy() -> None:
    """The harness can fail: code that imports numpy is caught."""
    process = run_without_numpy("import numpy")
    assert process.returncode != 0 and "ImportError" in process.stderr


@pytest.mark.parametrize(
    "first",
    [
        "import kmeans_quantize",
        "from kmeans_quantize import apply_palette",
        "import kmeans_quantize.quantize",
        "from kmeans_quantize.quantize import remap",
        "import kmeans_quantize.cli",
    ],
)
def test_public_names_are_the_functions_whatever_is_imported_first(first: str) -> None:
    """The package imports its public names lazily; the submodule quantize must not shadow them."""
    code = f"""
{first}
import kmeans_quantize
from kmeans_quantize import Palette, QuantizeResult, apply_palette, fit_palette, quantize
from kmeans_quantize import quantize as module_quantize
import kmeans_quantize.quantize as imported
assert callable(quantize) and quantize.__name__ == "quantize", quantize
assert kmeans_quantize.quantize is quantize is module_quantize is imported
assert set(kmeans_quantize.__all__) <= set(dir(kmeans_quantize))
try:
    kmeans_quantize.no_such_name
except AttributeError:
    print("OK")
"""
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert_ok(process)


# ---------------------------------------------------------------------------------------------
# Conversions


def test_colour_conversions_agree_with_the_numpy_ones() -> None:
    rng = np.random.default_rng(0)
    srgb = np.concatenate([rng.random((3000, 3)), np.eye(3), np.zeros((1, 3)), np.ones((1, 3))])
    linear = [tuple(pure_srgb_to_linear(v) for v in row) for row in srgb.tolist()]
    np.testing.assert_allclose(linear, colorspace.srgb_to_linear(srgb), rtol=0, atol=1e-12)
    for forward, backward, np_forward in (
        (linear_to_lab, lab_to_srgb, colorspace.srgb_to_lab),
        (linear_to_oklab, oklab_to_srgb, colorspace.srgb_to_oklab),
    ):
        converted = [forward(row) for row in linear]
        np.testing.assert_allclose(converted, np_forward(srgb), rtol=0, atol=1e-9)
        np.testing.assert_allclose([backward(row) for row in converted], srgb, rtol=0, atol=1e-9)


@pytest.mark.parametrize("color_space", ["rgb", "lab", "oklab"])
@pytest.mark.parametrize("gray", [False, True])
def test_clustering_points_and_rounding_agree_with_space_py(color_space: str, gray: bool) -> None:
    rng = np.random.default_rng(1)
    colors = np.arange(256)[:, None] if gray else rng.integers(0, 256, (4000, 3))
    packed = colors[:, 0] if gray else colors[:, 0] | colors[:, 1] << 8 | colors[:, 2] << 16
    clustering = space(color_space, gray)
    points = np.array(clustering.encode_all(packed.tolist()))
    expected = encode(colors.astype(np.uint8), np.dtype(np.uint8), color_space)
    np.testing.assert_allclose(points[:, : expected.shape[1]], expected, rtol=0, atol=1e-9)
    # Decoding points that lie off the 8-bit grid rounds as space.decode does.
    off = expected + rng.normal(0, 3, expected.shape)
    full = np.zeros((len(off), 3))
    full[:, : off.shape[1]] = off
    decoded = [clustering.decode(tuple(p)) for p in full.tolist()]
    reference = decode(off, np.dtype(np.uint8), color_space).astype(np.int64)
    reference_packed = (
        reference[:, 0] if gray else reference[:, 0] | reference[:, 1] << 8 | reference[:, 2] << 16
    )
    assert decoded == reference_packed.tolist()


# ---------------------------------------------------------------------------------------------
# Lloyd's iterations: the same steps as kmeans.lloyd


def random_points(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    points = rng.integers(0, 256, (int(rng.integers(200, 2500)), 3))
    if seed % 2:
        points[:, 1] = points[:, 0] // 2 + rng.integers(0, 8, len(points))  # a dense slab: many ties
    points = np.unique(points, axis=0)
    return points, rng.integers(1, 40, len(points))


def pure_fits(
    points: np.ndarray, weights: np.ndarray, init: np.ndarray, stop: Stopping, n_fixed: int = 0
) -> list:
    """The numpy-free Lloyd from ``init`` with both assigners; labels in the order of ``points``."""
    tuples = [tuple(p) for p in points.tolist()]
    data = WeightedPoints.of(tuples, weights.tolist())
    fits = [lloyd(PointAssigner(data), init.tolist(), stop=stop, n_fixed=n_fixed)]
    packed = [r | g << 8 | b << 16 for r, g, b in tuples]
    order = sorted(range(len(packed)), key=lambda i: packed[i] & cell_mask(4))
    cells = cells_of(
        WeightedPoints.of([tuples[i] for i in order], [int(weights[i]) for i in order]),
        [packed[i] for i in order],
        4,
    )
    fit = lloyd(CellAssigner(cells), init.tolist(), stop=stop, n_fixed=n_fixed)
    labels = np.empty(len(order), dtype=np.intp)
    labels[order] = fit.labels
    fits.append((fit, labels))
    return [(fits[0], np.array(fits[0].labels)), fits[1]]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n_fixed", [0, 2])
def test_lloyd_reaches_the_numpy_centres_and_labels(seed: int, n_fixed: int) -> None:
    points, weights = random_points(seed)
    rng = np.random.default_rng(100 + seed)
    init = points[rng.choice(len(points), int(rng.integers(3, 40)), replace=False)].astype(np.float64)
    reference = numpy_lloyd(
        NumpyPoints(points.astype(np.float64), weights.astype(np.float64)),
        init,
        stop=Stopping(max_iter=80, tol=0.0),
        n_fixed=n_fixed,
    )
    for fit, labels in pure_fits(points, weights, init, Stopping(max_iter=80, tol=0.0), n_fixed=n_fixed):
        assert fit.n_iter == reference.n_iter
        np.testing.assert_array_equal(np.array(fit.centers), reference.centers)  # bit for bit
        np.testing.assert_array_equal(labels, reference.labels)
        assert fit.inertia == pytest.approx(reference.inertia, rel=1e-12)


def test_lloyd_reseeds_empty_clusters_as_numpy_does() -> None:
    points, weights = random_points(4)
    points //= 2  # colours 0..127
    far = np.array([[255, 255, 255], [250, 255, 255], [255, 250, 255]])
    init = np.concatenate([far, points[:5]]).astype(np.float64)
    reference = numpy_lloyd(
        NumpyPoints(points.astype(np.float64), weights.astype(np.float64)),
        init,
        stop=Stopping(max_iter=50, tol=0.0),
    )
    fit, labels = pure_fits(points, weights, init, Stopping(max_iter=50, tol=0.0))[0]
    np.testing.assert_array_equal(np.array(fit.centers), reference.centers)
    np.testing.assert_array_equal(labels, reference.labels)


@pytest.mark.parametrize("seed", [0, 1])
def test_split_merge_moves_never_raise_the_inertia_and_repeat_exactly(seed: int) -> None:
    points, weights = random_points(seed)
    data = WeightedPoints.of([tuple(p) for p in points.tolist()], weights.tolist())
    rng = np.random.default_rng(seed)
    init = points[rng.choice(len(points), 12, replace=False)].astype(np.float64).tolist()
    fit = lloyd(PointAssigner(data), init, stop=Stopping(tol=0.1))
    moved = split_merge(data, fit, stop=Stopping(tol=0.1))
    assert moved.inertia <= fit.inertia
    assert split_merge(data, fit, stop=Stopping(tol=0.1)) == moved


def test_lloyd_in_lab_agrees_with_numpy() -> None:
    points, weights = random_points(3)
    lab = encode(points.astype(np.uint8), np.dtype(np.uint8), "lab")
    init = lab[:: len(lab) // 12][:12]
    reference = numpy_lloyd(
        NumpyPoints(lab, weights.astype(np.float64)), init, stop=Stopping(max_iter=60, tol=0.0)
    )
    data = WeightedPoints.of([tuple(p) for p in lab.tolist()], weights.tolist())
    fit = lloyd(PointAssigner(data), init.tolist(), stop=Stopping(max_iter=60, tol=0.0))
    assert fit.n_iter == reference.n_iter
    np.testing.assert_allclose(np.array(fit.centers), reference.centers, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(fit.labels, reference.labels)


# ---------------------------------------------------------------------------------------------
# Whole images


def generated(seed: int, height: int = 48, width: int = 64, channels: int = 3) -> np.ndarray:
    """Gradients, flat patches and noise (as in test_exactness), with alpha or gray if asked."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height)], axis=-1)
    image += rng.normal(0, 10 + 5 * seed, image.shape)
    image[: height // 3, : width // 3] = (200, 40, 40)
    rgb = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    if channels == 3:
        return rgb
    gray = rgb[..., :1] if channels in (1, 2) else rgb
    if channels == 1:
        return gray
    alpha = rng.choice(np.array([0, 255, 90], dtype=np.uint8), (height, width, 1), p=[0.2, 0.7, 0.1])
    return np.concatenate([gray, alpha], axis=2)


FORMAT = {1: "Y", 2: "YA", 3: "RGB", 4: "RGBA"}


def run_pure(image: np.ndarray, k: int, **options: object):
    height, width = image.shape[:2]
    channels = image.shape[2] if image.ndim == 3 else 1
    result = quantize_bytes(image.tobytes(), width, height, FORMAT[channels], k, labels=True, **options)
    return result, np.frombuffer(result.pixels, dtype=np.uint8).reshape(image.shape)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("color_space", ["rgb", "lab", "oklab"])
@pytest.mark.parametrize("with_coverage", [False, True])
def test_alpha_coverage_palette_and_mapping_rules(
    channels: int, color_space: str, with_coverage: bool
) -> None:
    image = generated(channels, channels=channels)
    height, width = image.shape[:2]
    coverage = None
    if with_coverage:
        coverage = np.random.default_rng(9).choice(np.array([0, 40, 255], dtype=np.uint8), (height, width))
    k = 7
    result, out = run_pure(
        image, k, color_space=color_space, seed=5, coverage=None if coverage is None else coverage.tobytes()
    )
    n_color = 1 if channels <= 2 else 3
    selected = np.ones((height, width), dtype=bool)
    if channels in (2, 4):
        selected &= image[..., -1] != 0
    if coverage is not None:
        selected &= coverage > 0
    # Pixels that take no part keep their bytes; alpha is copied.
    np.testing.assert_array_equal(out[~selected], image[~selected])
    if channels in (2, 4):
        np.testing.assert_array_equal(out[..., -1], image[..., -1])
    colors = np.array(result.palette.colors, dtype=np.uint8)
    counts = np.array(result.palette.counts)
    assert 1 <= len(colors) <= k and len(np.unique(colors, axis=0)) == len(colors)
    assert counts.sum() == selected.sum() and np.all(np.diff(counts) <= 0)  # most frequent first
    labels = np.frombuffer(result.labels, dtype=np.int32).reshape(height, width)
    assert np.all((labels >= 0) == selected)
    np.testing.assert_array_equal(out[selected][:, :n_color], colors[labels[selected]])
    np.testing.assert_array_equal(np.bincount(labels[selected], minlength=len(colors)), counts)
    # Every pixel has its nearest palette colour (ties to the one that sorts first): exactly
    # what the numpy engine's apply_palette gives with this palette and mask.
    palette = Palette(colors, color_space=color_space)
    mask = selected if coverage is not None else None
    np.testing.assert_array_equal(out, apply_palette(image, palette, mask))


@pytest.mark.parametrize("channels", [3, 4])
def test_few_colours_give_the_numpy_palette_and_the_image_back(channels: int) -> None:
    image = generated(1, channels=channels) // 64 * 64  # at most 64 colours
    result, out = run_pure(image, 64, seed=0)
    reference = quantize(image, 64, seed=0)
    np.testing.assert_array_equal(out, image)
    np.testing.assert_array_equal(np.array(result.palette.colors), reference.palette.colors)
    np.testing.assert_array_equal(np.array(result.palette.counts), reference.palette.counts)


def test_fixed_colours_are_in_the_palette() -> None:
    image = generated(2)
    fixed = [(0, 0, 0), (255, 255, 255), (12, 200, 7)]
    result, _ = run_pure(image, 6, seed=1, fixed_colors=fixed)
    assert set(fixed) <= set(result.palette.colors) and len(result.palette) <= 6


@pytest.mark.parametrize("color_space", ["rgb", "lab"])
def test_same_seed_same_bytes(color_space: str) -> None:
    image = generated(3, 96, 128)
    first, _ = run_pure(image, 12, seed=7, color_space=color_space)
    again, _ = run_pure(image, 12, seed=7, color_space=color_space)
    assert first.pixels == again.pixels and first.palette == again.palette


def test_work_limits_cut_the_iterations_of_many_points(monkeypatch: pytest.MonkeyPatch) -> None:
    """Levels of many points run at most LEVEL_WORK / EXACT_WORK points x iterations.

    The result is still a palette of at most K colours with every pixel mapped to its nearest.
    """
    image = generated(4, 120, 160)
    full, _ = run_pure(image, 8, seed=0)
    monkeypatch.setattr(pure_quantize, "LEVEL_WORK", 1)
    monkeypatch.setattr(pure_quantize, "EXACT_WORK", 1)
    limited, out = run_pure(image, 8, seed=0)
    assert full.n_iter > 1 and limited.n_iter == 1
    assert 1 <= len(limited.palette) <= 8
    palette = Palette(np.array(limited.palette.colors, dtype=np.uint8))
    np.testing.assert_array_equal(out, apply_palette(image, palette))


def test_garbage_collector_is_paused_and_restored() -> None:
    image = generated(1)
    states: list[bool] = []
    run_pure(image, 5, seed=0, progress=lambda stage, fraction: states.append(gc.isenabled()))
    assert states and not any(states) and gc.isenabled()
    with pytest.raises(ValueError, match="no pixel left"):
        quantize_bytes(bytes(12), 2, 2, "RGB", 2, coverage=bytes(4))
    assert gc.isenabled()
    gc.disable()
    try:
        run_pure(image, 5, seed=0)
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()


def sample_photo() -> np.ndarray:
    image = pytest.importorskip("PIL.Image")
    with image.open(SAMPLE) as picture:
        return np.asarray(picture.convert("RGB"))


@pytest.mark.parametrize(
    ("name", "k", "color_space", "bound"),
    [
        ("generated", 8, "rgb", 1.05),
        ("generated", 32, "rgb", 1.05),
        ("generated", 16, "lab", 1.05),
        ("sample.png", 8, "rgb", 1.05),
        ("sample.png", 24, "oklab", 1.05),
    ],
)
def test_error_is_close_to_the_numpy_engines(name: str, k: int, color_space: str, bound: float) -> None:
    """Both are k-means local optima of one histogram from different seeds: close, not equal.

    The error is measured in the clustering space (MSE of the encoded pixels).
    """
    image = generated(4, 120, 160) if name == "generated" else sample_photo()
    _, out = run_pure(image, k, seed=0, color_space=color_space)
    reference = quantize(image, k, seed=0, color_space=color_space).image

    def error(quantized: np.ndarray) -> float:
        encoded = [encode(a.reshape(-1, 3), np.dtype(np.uint8), color_space) for a in (image, quantized)]
        return float(np.mean((encoded[0] - encoded[1]) ** 2))

    assert len(np.unique(out.reshape(-1, 3), axis=0)) <= k
    assert error(out) <= bound * error(reference)


def test_apply_coverage_is_the_plugins_blend() -> None:
    """As LayerPixels.finish in the plug-in: alpha times coverage rounded; 0 coverage -> all 0."""
    rng = np.random.default_rng(11)
    pixels = rng.integers(0, 256, (30, 40, 4), dtype=np.uint8)
    coverage = rng.integers(0, 256, (30, 40), dtype=np.uint8)
    coverage[::3] = 0
    expected = pixels.copy()
    expected[..., -1] = np.rint(pixels[..., -1] * (coverage / 255.0)).astype(np.uint8)
    expected[coverage == 0] = 0
    out = apply_coverage(pixels.tobytes(), coverage.tobytes(), "R'G'B'A u8")
    np.testing.assert_array_equal(np.frombuffer(out, dtype=np.uint8).reshape(pixels.shape), expected)


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"pixel_format": "CMYK"}, "unknown pixel_format"),
        ({"pixels": b"\0" * 5}, "pixels hold 5 bytes"),
        ({"n_colors": 0}, "n_colors"),
        ({"color_space": "hsv"}, "unknown color_space"),
        ({"coverage": b"\0" * 3}, "coverage holds 3 bytes"),
        ({"coverage": b"\0" * 4}, "no pixel left to fit"),
        ({"fixed_colors": [(1, 2)]}, "fixed_colors"),
        ({"init": "best"}, "unknown init"),
    ],
)
def test_bad_input_is_refused_with_a_message(arguments: dict, error: str) -> None:
    call = {"pixels": bytes(range(12)), "width": 2, "height": 2, "pixel_format": "RGB", "n_colors": 2}
    call.update(arguments)
    with pytest.raises((TypeError, ValueError), match=error):
        quantize_bytes(**call)


def test_progress_moves_during_the_passes_over_every_pixel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Counting the colours and writing the pixels back report after every chunk of pixels
    (PIXEL_CHUNK, made small here), and chunking changes nothing in the result."""
    rng = np.random.default_rng(8)
    image = rng.integers(0, 256, (60, 70, 4), dtype=np.uint8)
    image[:10, :, 3] = 0
    whole, whole_pixels = run_pure(image, 9, seed=1)
    monkeypatch.setattr(pure_quantize, "PIXEL_CHUNK", 1000)
    seen: list[tuple[str, float]] = []
    chunked, chunked_pixels = run_pure(image, 9, seed=1, progress=lambda stage, f: seen.append((stage, f)))
    np.testing.assert_array_equal(chunked_pixels, whole_pixels)
    assert chunked.palette == whole.palette and list(chunked.labels or []) == list(whole.labels or [])
    for stage in ("histogram", "mapping"):
        fractions = [f for s, f in seen if s == stage]
        assert len([f for f in fractions if 0 < f < 1]) >= 4, (stage, fractions)  # 4200 px / 1000
        assert fractions == sorted(fractions)
