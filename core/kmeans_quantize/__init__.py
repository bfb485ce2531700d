"""K-Means colour quantization of images held as numpy arrays.

>>> import numpy as np
>>> from kmeans_quantize import quantize
>>> pixels = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
>>> result = quantize(pixels, 8, seed=0)
>>> result.image.shape, len(result.palette) <= 8
((32, 32, 3), True)
"""

from .palette import Palette
from .quantize import QuantizeResult, apply_palette, fit_palette, quantize

__all__ = ["quantize", "fit_palette", "apply_palette", "Palette", "QuantizeResult"]
__version__ = "0.1.0"
