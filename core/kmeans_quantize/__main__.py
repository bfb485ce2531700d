"""``python -m kmeans_quantize``: the command line."""

import sys

from .cli import main

sys.exit(main())
