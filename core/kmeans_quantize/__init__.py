"""K-Means colour quantization of images held as numpy arrays.

>>> import numpy as np
>>> from kmeans_quantize import quantize
>>> pixels = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
>>> result = quantize(pixels, 8, seed=0)
>>> result.image.shape, len(result.palette) <= 8
((32, 32, 3), True)

The public names are imported on first use, so that ``import kmeans_quantize``
works without numpy: :mod:`kmeans_quantize.pure_quantize` (8-bit pixel bytes,
standard library only) is usable where numpy cannot be installed.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .palette import Palette
    from .quantize import QuantizeResult, apply_palette, fit_palette, quantize

__all__ = ["quantize", "fit_palette", "apply_palette", "Palette", "QuantizeResult"]
__version__ = "0.1.0"

#: Public name -> the module that defines it.
_LAZY = {
    "quantize": ".quantize",
    "fit_palette": ".quantize",
    "apply_palette": ".quantize",
    "QuantizeResult": ".quantize",
    "Palette": ".palette",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


class _Package(types.ModuleType):
    """This package, where the public name ``quantize`` stays the function.

    Importing the submodule ``kmeans_quantize.quantize`` binds it on the package as
    ``quantize`` (the import system does that for every submodule); with the public names
    imported lazily, that could happen before the function is bound, and
    ``from kmeans_quantize import quantize`` would give the module.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
