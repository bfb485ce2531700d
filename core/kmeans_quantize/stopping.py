"""When Lloyd's iterations stop: one record for both engines (standard library only).

:func:`kmeans_quantize.kmeans.lloyd` and :func:`kmeans_quantize.pure_kmeans.lloyd` take it, and
so do the split–merge moves that run them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Stopping", "UNTIL_STABLE"]


@dataclass(frozen=True)
class Stopping:
    """When Lloyd's iterations stop.

    Attributes
    ----------
    max_iter : int
        Maximum number of assignment steps.
    tol : float
        Stop once no centre moves by more than ``tol`` (Euclidean distance in
        the clustering space); 0 runs until no label changes.
    """

    max_iter: int = 300
    tol: float = 0.0


#: 300 steps at most, until no label changes.
UNTIL_STABLE = Stopping()
