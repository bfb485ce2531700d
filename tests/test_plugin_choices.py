"""The GIMP plug-in offers exactly the choices the core accepts, in the core's order.

The plug-in keeps its own tables of choices with their dialog labels and help texts (it must
register its procedure even when the package beside it cannot be imported, to say so when run);
the names in them are read here from the plug-in's source and compared with the core's enums.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from kmeans_quantize.choices import Dither, Init
from kmeans_quantize.clustering_space import ColorSpaceName

PLUGIN = Path(__file__).resolve().parents[1] / "gimp_plugin" / "kmeans-quantize" / "kmeans-quantize.py"


def plugin_table(name: str) -> list[str]:
    """The choice names (first items) of the plug-in's module-level list ``name``."""
    for node in ast.parse(PLUGIN.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return [ast.literal_eval(entry)[0] for entry in node.value.elts]  # type: ignore[attr-defined]
    raise AssertionError(f"the plug-in has no table {name}")


@pytest.mark.parametrize(
    ("table", "names"),
    [("INITS", Init.names()), ("DITHERS", Dither.names()), ("COLOR_SPACES", ColorSpaceName.names())],
)
def test_plugin_choices_are_the_cores(table: str, names: tuple[str, ...]) -> None:
    assert tuple(plugin_table(table)) == names


def test_a_missing_table_is_reported() -> None:
    with pytest.raises(AssertionError, match="no table NOT_THERE"):
        plugin_table("NOT_THERE")
