"""The settings of one quantization, checked once where they come in.

:func:`~kmeans_quantize.quantize` and :func:`~kmeans_quantize.fit_palette` build an
:class:`Options` from their keywords, the command line builds one from its arguments;
everything behind them takes the value instead of a list of loose arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

import numpy as np
from numpy.typing import ArrayLike

from .choices import Dither, Init
from .clustering_space import ColorSpace
from .stopping import Stopping

__all__ = ["Options", "FitKeywords", "QuantizeKeywords", "Seed", "DEFAULT_TOL", "MAX_COLORS"]

#: Default ``tol``: stop once no centre moves by more than this (clustering-space units).
DEFAULT_TOL = 0.1
#: The largest palette.
MAX_COLORS = 65536

#: What seeds the random choices: an integer >= 0, a generator, or None for fresh entropy.
Seed = int | np.random.Generator | None


class FitKeywords(TypedDict, total=False):
    """The settings :func:`~kmeans_quantize.fit_palette` takes as keywords.

    Their defaults and checks are those of :meth:`Options.from_keywords`, so that
    the public functions list them without repeating them.
    """

    color_space: str
    init: str | ArrayLike
    n_init: int
    max_iter: int
    tol: float
    seed: Seed
    fixed_colors: ArrayLike | None


class QuantizeKeywords(FitKeywords, total=False):
    """The settings :func:`~kmeans_quantize.quantize` takes as keywords: the fit's and ``dither``."""

    dither: str


@dataclass(frozen=True)
class Options:
    """Checked settings of one fit and of the mapping that follows it.

    Build one with :meth:`from_keywords`, which checks every value as the public
    functions document it. The colours (``init`` as an array, ``fixed_colors``) are
    checked against the image they are for, by the fit.

    Attributes
    ----------
    n_colors : int
    color_space : ColorSpace
    init : Init or array_like
        A seeding, or the starting colours as the caller gave them.
    n_init, max_iter : int
    tol : float
    seed : int, numpy Generator or None
    fixed_colors : array_like or None
        As the caller gave them.
    dither : Dither
    """

    n_colors: int
    color_space: ColorSpace
    init: Init | ArrayLike
    n_init: int
    max_iter: int
    tol: float
    seed: Seed
    fixed_colors: ArrayLike | None
    dither: Dither

    @property
    def stopping(self) -> Stopping:
        """``max_iter`` and ``tol``, as the k-means runs take them."""
        return Stopping(self.max_iter, self.tol)

    @classmethod
    def from_keywords(  # noqa: PLR0913 -- one argument per keyword of quantize(), which it checks
        cls,
        n_colors: int,
        *,
        color_space: str = "rgb",
        init: str | ArrayLike = "k-means++",
        n_init: int = 1,
        max_iter: int = 300,
        tol: float = DEFAULT_TOL,
        seed: Seed = None,
        fixed_colors: ArrayLike | None = None,
        dither: str = "none",
    ) -> Options:
        """The options the keywords of :func:`~kmeans_quantize.quantize` give.

        Raises
        ------
        TypeError
            For a value of the wrong type (``max_iter="5"``).
        ValueError
            For a value out of range or an unknown name.
        """
        checked_dither = Dither.parse(dither, "dither")
        checked_n_colors = _check_n_colors(n_colors)
        space = ColorSpace.named(color_space)
        checked_init = _check_init_name(init)
        return cls(
            n_colors=checked_n_colors,
            color_space=space,
            init=checked_init,
            n_init=_check_positive_int("n_init", n_init),
            max_iter=_check_positive_int("max_iter", max_iter),
            tol=_check_tol(tol),
            seed=_check_seed(seed),
            fixed_colors=fixed_colors,  # checked against the image by the fit
            dither=checked_dither,
        )


def _check_n_colors(n_colors: object) -> int:
    if isinstance(n_colors, bool) or not isinstance(n_colors, (int, np.integer)):
        raise TypeError(f"n_colors must be an integer, got {type(n_colors).__name__}")
    if not 1 <= n_colors <= MAX_COLORS:
        raise ValueError(f"n_colors must be between 1 and {MAX_COLORS}, got {n_colors}")
    return int(n_colors)


def _check_init_name(init: str | ArrayLike) -> Init | ArrayLike:
    """A seeding named by a string; anything else is taken for colours (checked by the fit)."""
    if not isinstance(init, str):
        return init
    if init not in Init.names():
        names = ", ".join(repr(name) for name in Init.names())
        raise ValueError(f"unknown init {init!r}; choose {names} or an array of colours")
    return Init(init)


def _check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return int(value)


def _check_tol(tol: object) -> float:
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.integer, np.floating)):
        raise TypeError(f"tol must be a number, got {type(tol).__name__}")
    if not tol >= 0:
        raise ValueError(f"tol must be a number >= 0, got {tol!r}")
    return float(tol)


def _check_seed(seed: object) -> Seed:
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be None, an integer >= 0 or a numpy Generator, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed}")
    return int(seed)
