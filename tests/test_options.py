"""The named choices, the clustering-space objects and the options value built from keywords."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from kmeans_quantize.choices import Dither, Init
from kmeans_quantize.cli import _parser
from kmeans_quantize.options import Options
from kmeans_quantize.space import LAB, OKLAB, RGB, ColorSpace


def test_choices_are_their_names() -> None:
    assert Dither.ORDERED == "ordered"
    assert f"{Init.KMEANS_PLUS_PLUS}" == str(Init.KMEANS_PLUS_PLUS) == "k-means++"
    assert Dither.names() == ("none", "floyd-steinberg", "ordered")


def test_command_line_choices_come_from_the_enums() -> None:
    choices = {action.dest: action.choices for action in _parser()._actions if action.choices}
    assert tuple(choices["dither"]) == Dither.names()
    assert tuple(choices["init"]) == Init.names()
    assert tuple(choices["color_space"]) == ("rgb", "lab", "oklab")


@pytest.mark.parametrize(("name", "space"), [("rgb", RGB), ("lab", LAB), ("oklab", OKLAB)])
def test_color_space_is_looked_up_by_name(name: str, space: ColorSpace) -> None:
    assert ColorSpace.named(name) is space
    assert space.name == name


def test_unknown_color_space_names_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown color_space 'hsv'; choose one of rgb, lab, oklab"):
        ColorSpace.named("hsv")


def test_gamut_bounds_only_where_the_gamut_is_a_box() -> None:
    low, high = RGB.gamut_bounds(3)  # type: ignore[misc]
    np.testing.assert_array_equal(low, [0, 0, 0])
    np.testing.assert_array_equal(high, [255, 255, 255])
    assert LAB.gamut_bounds(3) is None
    assert OKLAB.gamut_bounds(1) is None


def test_options_from_keywords_are_checked_and_frozen() -> None:
    options = Options.from_keywords(4, color_space="oklab", init="random", dither="ordered", seed=3)
    assert options.color_space is OKLAB
    assert options.init is Init.RANDOM
    assert options.dither is Dither.ORDERED
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.n_colors = 5  # type: ignore[misc]
    with pytest.raises(ValueError, match="unknown init 'best'; choose 'k-means\\+\\+', 'random' or"):
        Options.from_keywords(4, init="best")
    with pytest.raises(ValueError, match="unknown dither 'fs'; choose one of none, floyd-steinberg, ordered"):
        Options.from_keywords(4, dither="fs")
