"""The GIMP 3 plug-in, run inside a real GIMP 3 (see conftest.py and in_gimp.py).

Each scenario's pixels, as GIMP holds them after the plug-in ran, are compared here with
kmeans_quantize run outside GIMP on the same source pixels with the same settings. Every
scenario runs twice (conftest.ENGINES): with GIMP's numpy, and with numpy hidden from GIMP's
Python, where the plug-in runs its numpy-free engine (kmeans_quantize.pure_quantize).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import GimpRun
from gimp_harness import Gimp3
from kmeans_quantize import apply_palette, fit_palette, quantize
from kmeans_quantize.pure_dither import dither_labels, paint
from kmeans_quantize.pure_layers import LayerBytes
from kmeans_quantize.pure_quantize import quantize_bytes

SUCCESS = "success"
#: quantize_bytes' pixel format by number of channels
PURE_FORMATS = {1: "Y", 2: "YA", 3: "RGB", 4: "RGBA"}


def distinct(colors: np.ndarray) -> int:
    return len(np.unique(colors.reshape(-1, colors.shape[-1]), axis=0))


def check_single(run: GimpRun, scenario: str, name: str) -> np.ndarray:
    """Status, layer order, untouched source; returns the quantized pixels GIMP holds."""
    facts = run.facts(scenario)
    arrays = run.arrays[scenario]
    assert facts["status"] == SUCCESS, facts["message"]
    assert facts["layers"] == [name, "photo"]
    assert facts["new"]["name"] == name
    np.testing.assert_array_equal(arrays["source_after"], arrays["source"])
    return arrays["new"]


def expected(
    run: GimpRun,
    source: np.ndarray,
    n_colors: int,
    *,
    color_space: str,
    seed: int = 0,
    init: str = "k-means++",
    max_iter: int = 300,
    dither: str = "none",
    selected: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """What the engine that ran in GIMP gives outside it on ``source`` (H, W, C): the pixels, in
    the source's shape, and the palette's colours. ``selected``: the pixels to fit and change.
    """
    options = {"color_space": color_space, "seed": seed, "init": init, "max_iter": max_iter}
    if run.engine == "numpy":
        result = quantize(source, n_colors, dither=dither, mask=selected, **options)
        return result.image, result.palette.colors
    height, width, channels = source.shape
    coverage = None if selected is None else np.where(selected, 255, 0).astype(np.uint8).tobytes()
    pure = quantize_bytes(
        source.tobytes(), width, height, PURE_FORMATS[channels], n_colors, coverage=coverage, **options
    )
    data = pure.pixels
    if dither != "none":
        fmt = PURE_FORMATS[channels]
        labels = dither_labels(
            LayerBytes(source.tobytes(), width, height, coverage), fmt, pure.palette, dither
        )
        data = paint(source.tobytes(), fmt, pure.palette, labels)
    return np.frombuffer(data, np.uint8).reshape(source.shape), np.array(pure.palette.colors, np.uint8)


def test_rgb8_layer_equals_the_engine_outside_gimp(gimp_run: GimpRun) -> None:
    new = check_single(gimp_run, "rgb8", "photo (K-Means 12)")
    source = gimp_run.arrays["rgb8"]["source"]
    image, _ = expected(gimp_run, source, 12, color_space="rgb", seed=3, max_iter=50)
    np.testing.assert_array_equal(new[..., :3], image)
    assert (new[..., 3] == 255).all()
    assert distinct(new[..., :3]) <= 12
    assert distinct(source) > 1000  # a real reduction happened


def test_defaults_are_lab_floyd_steinberg_8_colours_seed_0(gimp_run: GimpRun) -> None:
    new = check_single(gimp_run, "defaults", "photo (K-Means 8)")
    source = gimp_run.arrays["defaults"]["source"]
    image, _ = expected(gimp_run, source, 8, color_space="lab", dither="floyd-steinberg")
    np.testing.assert_array_equal(new[..., :3], image)
    undithered, _ = expected(gimp_run, source, 8, color_space="lab")
    assert (image != undithered).any(axis=-1).mean() > 0.05  # dithering changed pixels


def test_rgba_transparent_pixels_are_not_fitted_and_alpha_is_kept(gimp_run: GimpRun, inputs: Any) -> None:
    new = check_single(gimp_run, "rgba", "photo (K-Means 6)")
    source = gimp_run.arrays["rgba"]["source"]
    np.testing.assert_array_equal(source, inputs["rgba"])  # GIMP stored the hidden colours too
    image, _ = expected(gimp_run, source, 6, color_space="rgb")
    np.testing.assert_array_equal(new, image)
    np.testing.assert_array_equal(new[..., 3], source[..., 3])
    visible = source[..., 3] > 0
    assert not (new[visible][:, :3] == (255, 0, 255)).all(axis=1).any()


def test_gray_layer_stays_gray(gimp_run: GimpRun) -> None:
    new = check_single(gimp_run, "gray", "photo (K-Means 4)")
    source = gimp_run.arrays["gray"]["source"]
    assert new.shape[2] == 2 and gimp_run.facts("gray")["new"]["bpp"] == 2  # Y'A u8
    assert (new[..., 1] == 255).all()
    image, _ = expected(gimp_run, source, 4, color_space="lab", dither="ordered")
    np.testing.assert_array_equal(new[..., :1], image)


@pytest.mark.parametrize(("scenario", "bpp"), [("u16", 8), ("float", 16)])
def test_high_precision_images_keep_their_precision(gimp_run: GimpRun, scenario: str, bpp: int) -> None:
    new = check_single(gimp_run, scenario, "photo (K-Means 8)")
    facts = gimp_run.facts(scenario)
    assert facts["precision"] == {"u16": "u16-non-linear", "float": "float-non-linear"}[scenario]
    assert facts["new"]["bpp"] == bpp  # RGBA at 16 bits (u16) or 32 bits (float) per channel
    arrays = gimp_run.arrays[scenario]
    options = {"u16": {"color_space": "rgb"}, "float": {"color_space": "oklab", "init": "random", "seed": 7}}
    if gimp_run.engine == "numpy":
        source = arrays["source"]
        image, _ = expected(gimp_run, source, 8, **options[scenario])
        assert new.dtype == source.dtype
        np.testing.assert_array_equal(new[..., :3], image)
    else:
        # the numpy-free engine works on the layer read at 8 bits (the README says so)
        image, _ = expected(gimp_run, arrays["source8"], 8, **options[scenario])
        np.testing.assert_array_equal(arrays["new8"][..., :3], image)
    assert distinct(new[..., :3]) <= 8


def test_offset_layer_inside_a_group(gimp_run: GimpRun) -> None:
    facts = gimp_run.facts("group_offset")
    assert facts["status"] == SUCCESS, facts["message"]
    assert facts["layers"] == [["group", ["inner (K-Means 5)", "inner", "below"]], "background"]
    assert facts["new"]["parent"] == "group"
    assert facts["new"]["offsets"] == facts["source"]["offsets"] == [30, 25]
    assert facts["new"]["size"] == facts["source"]["size"] == [50, 40]
    assert facts["new"]["position"] == 0 and facts["source"]["position"] == 1
    arrays = gimp_run.arrays["group_offset"]
    image, _ = expected(gimp_run, arrays["source"], 5, color_space="lab")
    np.testing.assert_array_equal(arrays["new"][..., :3], image)


@pytest.mark.parametrize("scenario", ["rectangle", "feathered_ellipse"])
def test_selection_limits_fit_and_output(gimp_run: GimpRun, scenario: str) -> None:
    facts = gimp_run.facts(scenario)
    assert facts["status"] == SUCCESS, facts["message"]
    arrays = gimp_run.arrays[scenario]
    source, new, coverage = arrays["source"], arrays["new"], arrays["coverage"]
    alpha = np.rint(255 * coverage.astype(np.float64))
    if gimp_run.engine == "numpy-free":
        # the numpy-free engine reads the selection at 8 bits: alpha round(255 c8 / 255) = c8
        coverage = arrays["coverage8"]
        assert np.abs(coverage - alpha).max() <= 1
        alpha = coverage
    inside = coverage > 0
    assert 0 < inside.sum() < inside.size
    image, _ = expected(gimp_run, source, 6, color_space="rgb", selected=inside)
    np.testing.assert_array_equal(new[inside][:, :3], image[inside])
    assert (new[~inside] == 0).all()  # transparent outside the selection
    np.testing.assert_array_equal(new[..., 3], alpha)
    partial = (coverage > 0) & (alpha < 255)
    if scenario == "rectangle":
        assert not partial.any()
    else:
        assert partial.sum() > 100  # a feathered edge, kept as partial alpha
        assert (new[partial][:, 3] < 255).all() and (new[partial][:, 3] > 0).any()


def test_shared_palette_over_two_layers(gimp_run: GimpRun) -> None:
    facts = gimp_run.facts("shared_palette")
    assert facts["status"] == SUCCESS, facts["message"]
    assert facts["layers"] == ["second (K-Means 8)", "second", "first (K-Means 8)", "first"]
    arrays = gimp_run.arrays["shared_palette"]
    first, second = arrays["first"], arrays["second"]
    if gimp_run.engine == "numpy":
        palette = fit_palette([first, second], 8, color_space="rgb", seed=0)
        mapped = [apply_palette(first, palette), apply_palette(second, palette)]
    else:
        # the summed histogram of two equal-sized layers is the histogram of the two stacked
        stacked, _ = expected(gimp_run, np.concatenate([first, second]), 8, color_space="rgb")
        mapped = [stacked[: len(first)], stacked[len(first) :]]
    for name, image in zip(("first", "second"), mapped, strict=True):
        np.testing.assert_array_equal(arrays[f"{name}_new"][..., :3], image)
    both = np.concatenate(
        [arrays["first_new"][..., :3].reshape(-1, 3), arrays["second_new"][..., :3].reshape(-1, 3)]
    )
    assert distinct(both) <= 8


def test_separate_palettes_without_sharing(gimp_run: GimpRun) -> None:
    facts = gimp_run.facts("separate_palettes")
    assert facts["status"] == SUCCESS, facts["message"]
    arrays = gimp_run.arrays["separate_palettes"]
    for name in ("first", "second"):
        image, _ = expected(gimp_run, arrays[name], 8, color_space="rgb")
        np.testing.assert_array_equal(arrays[f"{name}_new"][..., :3], image)


def test_create_palette_adds_the_colours_most_frequent_first(gimp_run: GimpRun) -> None:
    facts = gimp_run.facts("create_palette")
    assert facts["status"] == SUCCESS, facts["message"]
    assert facts["palettes"] == [f"{facts['image_name']} (K-Means 7)"]
    assert facts["color_count"] == 7
    arrays = gimp_run.arrays["create_palette"]
    _, colors = expected(gimp_run, arrays["source"], 7, color_space="lab")
    np.testing.assert_array_equal(arrays["palette"], colors)
    layer_colors, counts = np.unique(arrays["new"][..., :3].reshape(-1, 3), axis=0, return_counts=True)
    by_frequency = layer_colors[np.argsort(-counts, kind="stable")]
    np.testing.assert_array_equal(arrays["palette"][: len(by_frequency)], by_frequency)


def test_the_engine_asked_for_ran(gimp_run: GimpRun) -> None:
    """The numpy-free run really had no numpy, and the other one had it."""
    numpy_version = gimp_run.facts("versions")["numpy"]
    assert (numpy_version is None) == (gimp_run.engine == "numpy-free")


@pytest.mark.parametrize(
    ("case", "status", "words"),
    [
        ("no_layer", "calling-error", "Select at least one layer"),
        ("transparent", "execution-error", "fully transparent"),
        ("selection_outside", "execution-error", "selection lies outside"),
        ("channel", "calling-error", "is a channel"),
        ("layer_mask", "calling-error", "is a layer mask"),
        ("group", "calling-error", "is a layer group"),
        ("indexed", "calling-error", "indexed"),
    ],
)
def test_errors_return_a_status_and_message_and_add_no_layer(
    gimp_run: GimpRun, case: str, status: str, words: str
) -> None:
    facts = gimp_run.facts("errors")[case]
    assert facts["status"] == status
    assert words in facts["message"]
    assert facts["unchanged"]


def test_with_last_values_runs_without_stored_values(gimp_run: GimpRun) -> None:
    facts = gimp_run.facts("last_values")
    assert facts["status"] == SUCCESS, facts["message"]
    assert facts["layers"] == ["photo (K-Means 8)", "photo"]


def test_one_undo_step_per_run(gui_run: GimpRun) -> None:
    facts = gui_run.results
    assert facts["statuses"] == [SUCCESS, SUCCESS]
    # each new layer goes directly above its source, so the second run's sit below the first's
    assert facts["before"] == [
        "second (K-Means 2)",
        "second (K-Means 3)",
        "second",
        "first (K-Means 2)",
        "first (K-Means 3)",
        "first",
    ]
    assert facts["after"] == ["second (K-Means 2)", "second", "first (K-Means 2)", "first"]


def test_dialog_settings_are_used_and_kept_as_last_values(gui_run: GimpRun) -> None:
    facts = gui_run.results
    assert facts["interactive"] == SUCCESS and facts["helper_exit"] == 0
    # K = 5 typed into the dialog; the new layer goes directly above its source
    after = ["second (K-Means 2)", "second", "first (K-Means 2)", "first (K-Means 5)", "first"]
    assert facts["after_dialog"] == after
    assert facts["last_values"] == SUCCESS
    assert facts["after_last_values"] == ["second (K-Means 2)", "second (K-Means 5)", *after[1:]]


def test_runs_in_the_gimp_release_asked_for(gimp_run: GimpRun, gimp3: Gimp3) -> None:
    # KMQ_GIMP_VERSION (the gimp and gimp32 envs set it) picks the release; make sure it ran
    assert gimp_run.facts("versions")["gimp"].startswith(f"{gimp3.release.version}.")


def test_install_py_default_folder_is_the_one_this_gimp_reads(
    user_install_run: dict[str, Any], gimp3: Gimp3
) -> None:
    before, after = user_install_run["before"], user_install_run["after"]
    # GIMP 3.0 keeps its settings in ~/.config/GIMP/3.0, GIMP 3.2 in ~/.config/GIMP/3.2
    assert before["directory"].endswith(f"/GIMP/{gimp3.release.version}")
    assert not before["registered"]  # a fresh profile: not installed yet
    installed = f"{before['directory']}/plug-ins/kmeans-quantize/kmeans-quantize.py"
    assert f"Installed K-Means Quantize: {installed}" in user_install_run["install_output"]
    assert after["registered"], f"GIMP does not see the plug-in install.py installed:\n{user_install_run}"


def test_indexed_image_output_holds_the_palette_and_the_new_layers_pixels_as_indices(
    gimp_run: GimpRun,
) -> None:
    facts = gimp_run.facts("indexed_output")
    assert facts["new_layer_status"] == SUCCESS
    assert facts["status"] == SUCCESS, facts["message"]
    assert facts["new_images"] == 1 and facts["base"] == "indexed"
    assert facts["indexed_layers"] == ["clear_band (K-Means 6)"]
    arrays = gimp_run.arrays["indexed_output"]
    source, new = arrays["clear_band_source"], arrays["clear_band_new"]
    _, palette = expected(gimp_run, source, 6, color_space="lab")
    np.testing.assert_array_equal(arrays["colormap"], palette)  # most frequent first, as fitted
    pairs = arrays["clear_band_indices"]
    opaque = new[..., 3] == 255
    assert (~opaque).any() and set(np.unique(new[..., 3])) == {0, 255}
    np.testing.assert_array_equal(pairs[..., 1], new[..., 3])  # clear stays clear
    # the indices are the new layer's pixels through the colour map: no second mapping
    np.testing.assert_array_equal(arrays["colormap"][pairs[..., 0]][opaque], new[..., :3][opaque])
    np.testing.assert_array_equal(arrays["clear_band_indexed_rgba"][opaque], new[opaque])
    # saved as a GIF as the README shows: the same pixels come back
    assert facts["gif_base"] == "indexed"
    np.testing.assert_array_equal(arrays["gif_rgba"][opaque], new[opaque])
    assert (arrays["gif_rgba"][~opaque][:, 3] == 0).all()


def test_indexed_image_with_a_shared_palette_has_one_layer_per_source(gimp_run: GimpRun) -> None:
    facts = gimp_run.facts("indexed_shared")
    assert facts["status"] == SUCCESS, facts["message"]
    assert facts["new_images"] == 1 and facts["base"] == "indexed"
    assert facts["indexed_layers"] == ["photo (K-Means 5)", "photo2 (K-Means 5)"]
    assert facts["indexed_offsets"] == [[0, 0], [0, 0]]
    arrays = gimp_run.arrays["indexed_shared"]
    assert len(arrays["colormap"]) <= 5
    for name in ("photo", "photo2"):
        pairs, new = arrays[f"{name}_indices"], arrays[f"{name}_new"]
        assert (pairs[..., 1] == 255).all()
        np.testing.assert_array_equal(arrays["colormap"][pairs[..., 0]], new[..., :3])


@pytest.mark.parametrize(
    ("case", "status", "words"),
    [
        ("partly_transparent", "execution-error", "800 pixels"),  # the band of alpha 128
        ("several_unshared", "calling-error", "one palette"),
    ],
)
def test_indexed_image_output_refuses_what_it_cannot_hold(
    gimp_run: GimpRun, case: str, status: str, words: str
) -> None:
    facts = gimp_run.facts("indexed_refused")[case]
    assert facts["status"] == status
    assert words in facts["message"]
    assert facts["unchanged"]
    if case == "partly_transparent":
        assert "partly transparent" in facts["message"] and facts["new_images"] == 0


def test_dialog_preview_shows_the_engines_result_on_a_reduced_copy_and_follows_the_settings(
    gui_run: GimpRun,
) -> None:
    facts = gui_run.results
    assert facts["preview_helper_exit"] == 0, "the helper's exit status names the step that failed"
    assert facts["preview_run"] == "cancel" and facts["preview_layers"] == ["big"]
    previews = facts["previews"]  # the earlier dialog's (64 x 48 layer), then the 480 x 360 layer's
    big = [entry for entry in previews if entry["size"] == [360, 270]]  # scaled to fit 360 x 360
    assert big and big == previews[-len(big) :], previews
    assert any(entry["n_colors"] == 7 for entry in big), big
    assert big[-1]["n_colors"] == 7  # none after the preview was turned off (K = 9)
    # what the dialog showed (captured with xwd): the K = 7 preview, pixel for pixel where opaque
    (x, y), (width, height) = big[-1]["origin"], big[-1]["size"]
    shown = gui_run.arrays["preview-shot"]["rgb"][y : y + height, x : x + width]
    drawn = gui_run.arrays[f"preview-{len(previews) - 1}"]["preview"]
    opaque = drawn[..., 3] == 255
    assert opaque.mean() > 0.5
    np.testing.assert_array_equal(shown[opaque], drawn[..., :3][opaque])
    for number, entry in enumerate(previews):
        arrays = gui_run.arrays[f"preview-{number}"]
        proxy, preview, coverage = arrays["proxy"], arrays["preview"], arrays.get("coverage")
        # the big layer's left part is selected: the preview shows only what the run would change
        assert (coverage is None) == (entry not in big)
        selected = None if coverage is None else coverage > 0
        image, _ = expected(
            gui_run,
            proxy,
            entry["n_colors"],
            color_space=entry["color_space"],
            seed=entry["seed"],
            init=entry["init"],
            max_iter=entry["max_iter"],
            dither=entry["dither"],
            selected=selected,
        )
        if selected is None:
            np.testing.assert_array_equal(preview, image)
        else:
            assert 0.3 < selected.mean() < 0.9
            np.testing.assert_array_equal(preview[selected][:, :3], image[selected][:, :3])
            assert (preview[~selected] == 0).all()  # transparent where the run changes nothing
            fully = coverage == (255 if coverage.dtype == np.uint8 else 1.0)
            assert (preview[fully][:, 3] == 255).all()
        assert distinct(preview[..., :3]) <= entry["n_colors"] + (selected is not None)  # + clear black
