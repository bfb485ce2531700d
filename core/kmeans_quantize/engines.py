"""Which quantization engine to run: the numpy one, or the numpy-free one where numpy is missing.

The GIMP plug-in asks :func:`choose_engine` once, at start. GIMP's official Windows, macOS and
Flatpak builds ship a Python without numpy, where numpy cannot be installed either; there the
numpy-free engine (:mod:`kmeans_quantize.pure_quantize`) runs. The environment variable
``KMQ_ENGINE`` overrides the choice, for tests and for users who want to compare:
``numpy``, ``pure`` or ``auto`` (the default: numpy when it can be imported).

This module imports nothing outside the standard library.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping

__all__ = ["ENGINE_VARIABLE", "ENGINES", "EngineError", "choose_engine"]

#: The environment variable that overrides the choice.
ENGINE_VARIABLE = "KMQ_ENGINE"
#: The engines: the numpy one (any precision) and the numpy-free one (8 bits per channel).
ENGINES = ("numpy", "pure")
AUTO = "auto"


class EngineError(ValueError):
    """The engine asked for cannot run here, or there is no such engine."""


def choose_engine(environ: Mapping[str, str] | None = None) -> str:
    """The engine to run: ``"numpy"`` or ``"pure"``.

    Parameters
    ----------
    environ : mapping, optional
        Where to read ``KMQ_ENGINE`` (default :data:`os.environ`). Unset, empty or ``auto``:
        numpy when it can be imported, else the numpy-free engine.

    Returns
    -------
    str

    Raises
    ------
    EngineError
        ``KMQ_ENGINE`` names no engine, or names numpy and numpy cannot be imported.
    """
    requested = (os.environ if environ is None else environ).get(ENGINE_VARIABLE, "").strip().lower() or AUTO
    if requested not in (*ENGINES, AUTO):
        raise EngineError(f"{ENGINE_VARIABLE}={requested!r} names no engine; use numpy, pure or auto")
    if requested == "pure":
        return "pure"
    try:
        importlib.import_module("numpy")
    except ImportError as error:
        if requested == "numpy":
            raise EngineError(f"{ENGINE_VARIABLE}=numpy, but numpy cannot be imported ({error})") from error
        return "pure"
    return "numpy"
