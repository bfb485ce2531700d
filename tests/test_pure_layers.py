"""What the GIMP plug-in runs without numpy, outside GIMP: the engine choice and several layers.

The choice (kmeans_quantize.engines) is checked in child interpreters where numpy can and cannot
be imported; kmeans_quantize.pure_layers against quantize_bytes on images built independently
(layers stacked as one image), and taking_part against a numpy reference.
"""

from __future__ import annotations

import numpy as np
import pytest
from kmeans_quantize import Palette
from kmeans_quantize.engines import EngineError, choose_engine
from kmeans_quantize.palette_io import entry_names as numpy_entry_names
from kmeans_quantize.pure_layers import LayerBytes, entry_names, quantize_layers, with_alpha
from kmeans_quantize.pure_quantize import PurePalette, quantize_bytes, taking_part
from test_pure_python import assert_ok, run_without_numpy


def photo(height: int, width: int, seed: int, channels: int = 4) -> np.ndarray:
    """Smooth gradients plus noise, alpha with a fully transparent band when channels is 2 or 4."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    base = np.stack([np.sin(3 * x + y), y, 1 - x * y], axis=-1) * 0.45 + 0.5
    color = np.clip(np.rint((base + rng.normal(0, 0.04, base.shape)) * 255), 0, 255).astype(np.uint8)
    if channels in (1, 2):
        color = color[..., 1:2]
    if channels in (2, 4):
        alpha = np.full((height, width, 1), 255, np.uint8)
        alpha[:, : width // 5] = 0
        alpha[:, width // 5 : width // 4] = 90
        color = np.concatenate([color, alpha], axis=-1)
    return color


@pytest.mark.parametrize(
    ("value", "engine"),
    [
        (None, "numpy"),
        ("", "numpy"),
        ("auto", "numpy"),
        ("numpy", "numpy"),
        ("pure", "pure"),
        (" Pure ", "pure"),
    ],
    ids=["unset", "empty", "auto", "numpy", "pure", "spaces-and-case"],
)
def test_engine_choice_with_numpy_present(value: str | None, engine: str) -> None:
    environ = {} if value is None else {"KMQ_ENGINE": value}
    assert choose_engine(environ) == engine


def test_an_unknown_engine_is_refused_with_the_choices() -> None:
    with pytest.raises(EngineError, match="'fast' names no engine; use numpy, pure or auto"):
        choose_engine({"KMQ_ENGINE": "fast"})


def test_without_numpy_auto_chooses_the_numpy_free_engine_and_numpy_is_refused() -> None:
    assert_ok(
        run_without_numpy(
            """
            from kmeans_quantize.engines import EngineError, choose_engine
            from kmeans_quantize import pure_layers  # noqa: F401  (imports without numpy)
            assert choose_engine({}) == "pure"
            assert choose_engine({"KMQ_ENGINE": "auto"}) == "pure"
            try:
                choose_engine({"KMQ_ENGINE": "numpy"})
            except EngineError as error:
                assert "numpy cannot be imported" in str(error), error
            else:
                raise SystemExit("KMQ_ENGINE=numpy was accepted without numpy")
            """
        )
    )


@pytest.mark.parametrize(("channels", "fmt"), [(4, "R'G'B'A u8"), (2, "Y'A u8"), (3, "RGB")])
def test_a_shared_palette_is_the_palette_of_the_layers_stacked_as_one_image(channels: int, fmt: str) -> None:
    first, second = photo(30, 40, seed=1, channels=channels), photo(20, 40, seed=2, channels=channels)
    options = {"color_space": "lab", "seed": 4, "labels": True}
    layers = [LayerBytes(image.tobytes(), 40, len(image)) for image in (first, second)]
    results = quantize_layers(layers, fmt, 6, shared=True, **options)
    stacked = quantize_bytes(np.concatenate([first, second]).tobytes(), 40, 50, fmt, 6, **options)
    assert [result.palette for result in results] == [stacked.palette] * 2
    assert results[0].pixels + results[1].pixels == stacked.pixels
    assert stacked.labels is not None
    assert [list(result.labels or []) for result in results] == [
        list(stacked.labels[: 30 * 40]),
        list(stacked.labels[30 * 40 :]),
    ]


def test_a_shared_palette_over_layers_of_different_sizes_maps_each_with_the_same_colours() -> None:
    first, second = photo(30, 40, seed=1), photo(17, 23, seed=2)
    coverage = np.zeros((17, 23), np.uint8)
    coverage[4:12, 3:20] = 255
    layers = [
        LayerBytes(first.tobytes(), 40, 30),
        LayerBytes(second.tobytes(), 23, 17, coverage.tobytes()),
    ]
    results = quantize_layers(layers, "RGBA", 5, shared=True, seed=0)
    palette = results[0].palette
    assert results[1].palette == palette and len(palette) <= 5
    taking_part = 30 * 40 - (first[..., 3] == 0).sum() + ((second[..., 3] > 0) & (coverage > 0)).sum()
    assert sum(palette.counts) == taking_part
    for result, source, inside in (
        (results[0], first, first[..., 3] > 0),
        (results[1], second, coverage > 0),
    ):
        new = np.frombuffer(result.pixels, np.uint8).reshape(source.shape)
        used = {tuple(color) for color in new[inside & (source[..., 3] > 0)][:, :3].tolist()}
        assert used <= set(palette.colors)
        np.testing.assert_array_equal(new[~inside], source[~inside])  # untouched outside


def test_separate_palettes_are_each_layers_own_quantization() -> None:
    first, second = photo(30, 40, seed=1), photo(17, 23, seed=2)
    layers = [LayerBytes(first.tobytes(), 40, 30), LayerBytes(second.tobytes(), 23, 17)]
    results = quantize_layers(layers, "RGBA", 5, shared=False, seed=2)
    for result, image in zip(results, (first, second), strict=True):
        alone = quantize_bytes(image.tobytes(), image.shape[1], image.shape[0], "RGBA", 5, seed=2)
        assert result == alone


@pytest.mark.parametrize(
    "colors",
    [[(255, 0, 16), (1, 2, 3)], [(0,), (200,)]],
    ids=["rgb", "gray"],
)
@pytest.mark.parametrize("counts", [(7, 0), (0, 0)], ids=["counted", "no-counts"])
def test_palette_entry_names_are_the_numpy_plugins(
    colors: list[tuple[int, ...]], counts: tuple[int, int]
) -> None:
    pure = PurePalette(tuple(colors), counts, "rgb")
    numpy_palette = Palette(np.array(colors, np.uint8), np.array(counts))
    assert entry_names(pure) == numpy_entry_names(numpy_palette)


@pytest.mark.parametrize(("channels", "fmt"), [(4, "R'G'B'A u8"), (2, "YA"), (3, "RGB")])
def test_taking_part_is_alpha_and_coverage_above_zero(channels: int, fmt: str) -> None:
    original = photo(12, 15, seed=4, channels=channels)
    coverage = np.random.default_rng(5).choice(np.array([0, 1, 255], np.uint8), size=(12, 15))
    expected = coverage > 0
    if channels in (2, 4):
        expected &= original[..., -1] > 0
    mask = taking_part(original.tobytes(), fmt, coverage.tobytes())
    np.testing.assert_array_equal(np.frombuffer(mask, np.uint8).reshape(12, 15), np.where(expected, 255, 0))


@pytest.mark.parametrize(("channels", "fmt"), [(3, "R'G'B' u8"), (1, "Y' u8"), (4, "R'G'B'A u8"), (2, "YA")])
def test_with_alpha_adds_an_opaque_channel_to_pixels_without_one(channels: int, fmt: str) -> None:
    original = photo(12, 15, seed=6, channels=4 if channels >= 3 else 2)
    pixels = original if channels in (2, 4) else original[..., :-1]
    expected = original.copy()
    if channels in (1, 3):
        expected[..., -1] = 255
    assert with_alpha(np.ascontiguousarray(pixels).tobytes(), fmt) == expected.tobytes()
