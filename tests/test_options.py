"""The named choices and the options value built from keywords."""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest
from kmeans_quantize import fit_palette, quantize
from kmeans_quantize.choices import Dither, Init
from kmeans_quantize.cli import _parser
from kmeans_quantize.clustering_space import OKLAB
from kmeans_quantize.options import FitKeywords, Options, QuantizeKeywords


def test_choices_are_their_names() -> None:
    assert Dither.ORDERED == "ordered"
    assert f"{Init.KMEANS_PLUS_PLUS}" == str(Init.KMEANS_PLUS_PLUS) == "k-means++"
    assert Dither.names() == ("none", "floyd-steinberg", "ordered")


def test_command_line_choices_come_from_the_enums() -> None:
    choices = {action.dest: action.choices for action in _parser()._actions if action.choices}
    assert tuple(choices["dither"]) == Dither.names()
    assert tuple(choices["init"]) == Init.names()
    assert tuple(choices["color_space"]) == ("rgb", "lab", "oklab")


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


def test_the_keywords_the_public_functions_pass_on_are_those_options_check() -> None:
    checked = [name for name in inspect.signature(Options.from_keywords).parameters if name != "n_colors"]
    assert list(QuantizeKeywords.__annotations__) == checked
    assert list(FitKeywords.__annotations__) == [name for name in checked if name != "dither"]


@pytest.mark.parametrize("function", [quantize, fit_palette], ids=["quantize", "fit_palette"])
def test_a_misspelt_keyword_is_a_type_error_that_names_it(function: object) -> None:
    pixels = np.zeros((2, 2, 3), dtype=np.uint8)
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour_space'"):
        function(pixels, 2, colour_space="lab")  # type: ignore[operator]
