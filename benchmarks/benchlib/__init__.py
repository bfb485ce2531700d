"""What the benchmark scripts share, one module per concern.

- :mod:`benchlib.data`: the images (sample photos, photo-like upscales, fetched wallpapers);
- :mod:`benchlib.peers`: the quantizers compared, as functions of (image, K);
- :mod:`benchlib.gimp`: GIMP 3's Indexed mode as a peer (one GIMP start for every image and K);
- :mod:`benchlib.measure`: timing, peak memory, errors, machine facts;
- :mod:`benchlib.report`: the peer comparison's tables, target checks, figures and files.

The scripts beside this package (``bench_*.py``, ``gimp_indexed.py``) import from it, never from
each other; run them from the repository root (``python benchmarks/bench_peers.py``), which puts
``benchmarks/`` on ``sys.path``.
"""
