"""Our quantizer against its peers, side by side, in one run: time, MSE, PSNR, CIEDE2000, memory.

Every method turns a uint8 RGB image into a uint8 RGB image with at most K colours, without
dithering, each in its best honest configuration (see ``benchlib.peers.METHOD_NOTES``): ours
(``quantize(image, K, color_space=S, seed=0)`` for S in rgb, lab, oklab); scikit-learn
``KMeans`` on the unique colours weighted by their counts, in RGB and in CIELAB; scikit-learn's
colour-quantization example (fit on 1,000 random pixels, predict the rest); Pillow MEDIANCUT,
MEDIANCUT with ``kmeans=1`` and FASTOCTREE; libimagequant (PyPI ``imagequant``); OpenCV
``cv2.kmeans``; GIMP 3's Image > Mode > Indexed (through ``gimp_indexed.py``, one GIMP start for
all images and K, timed inside GIMP).

Times are wall seconds, the median of ``--repeat`` runs, methods interleaved in one process (for
each repeat every method runs once; the order alternates). On images above
``--skip-slow-above-mp`` megapixels the slow peers (``benchlib.peers.SLOW_METHODS``) run once and only for
K <= ``--slow-max-k``, and ours-lab and ours-oklab run once (``benchlib.peers.ONCE_ON_LARGE``): that keeps the
default run near 40 minutes on 2 cores. Our peak memory (ours-rgb) is measured in a fresh child
process per image and K. The two large wallpapers come from Debian packages fetched into ``benchmarks/cache/``
(``apt-get download`` + ``dpkg -x``, no install); without network they are skipped.

Run from the repository root::

    python benchmarks/bench_peers.py                          # everything: about 40 min on 2 cores
    python benchmarks/bench_peers.py --images china.jpg flower.jpg -k 16 64
    python benchmarks/bench_peers.py --methods ours-rgb imagequant gimp-indexed --images china_12mp
    python benchmarks/bench_peers.py --smoke --out-dir /tmp/peers   # seconds: checks the pipeline

Writes ``peers.md`` (report), ``peers.json`` (raw rows), ``peers-pareto.png`` (MSE against time)
and ``peers-strip.png`` (crops of china.jpg at K=16) to ``--out-dir`` (default
``benchmarks/results``), each atomically; the report and JSON are rewritten after every image.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from benchlib.data import (
    BENCHMARKS,
    DEFAULT_IMAGES,
    IMAGES,
    SMOKE_NAME,
    LoadedImage,
    RGBImage,
    count_colors,
    progress,
)
from benchlib.measure import (
    STRIP_IMAGE,
    STRIP_K,
    Row,
    Settings,
    bench_cell,
    crop_for_strip,
    delta_e_sample,
    error_text,
    load_average,
    peak_memory,
    run_gimp,
    score,
    warm_up,
)
from benchlib.peers import (
    ALL_METHODS,
    GIMP,
    OURS,
    SMOKE_METHODS,
    libimagequant,  # noqa: F401 -- bench_pure_python.py imports it from here
)
from benchlib.report import pareto_plot, report, strip_plot, table_text, write_atomic

# ---------------------------------------------------------------------------------------------
# Images


# ---------------------------------------------------------------------------------------------
# Methods


# ---------------------------------------------------------------------------------------------
# Measuring


# ---------------------------------------------------------------------------------------------
# Report


# ---------------------------------------------------------------------------------------------
# Plots


# ---------------------------------------------------------------------------------------------
# Output and main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--images",
        nargs="+",
        choices=list(IMAGES),
        default=DEFAULT_IMAGES,
        metavar="NAME",
        help=f"images to run (default all but {SMOKE_NAME}): {', '.join(IMAGES)}",
    )
    parser.add_argument(
        "-k", nargs="+", type=int, default=[16, 64, 256], help="palette sizes, 2-256 (16 64 256)"
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=ALL_METHODS,
        default=ALL_METHODS,
        metavar="METHOD",
        help=f"methods to run (default all): {', '.join(ALL_METHODS)}",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per method; the median is reported (3)")
    parser.add_argument(
        "--skip-slow-above-mp",
        type=float,
        default=3.0,
        metavar="X",
        help="on images above X megapixels the slow peers run once and only for K <= "
        "--slow-max-k (default 3; 'inf' never limits them)",
    )
    parser.add_argument(
        "--slow-max-k",
        type=int,
        default=16,
        metavar="K",
        help="largest K for the slow peers on images above --skip-slow-above-mp (16)",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory child processes")
    parser.add_argument("--no-gimp", action="store_true", help="do not start GIMP")
    parser.add_argument(
        "--out-dir", type=Path, default=BENCHMARKS / "results", help="output folder (benchmarks/results)"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"{SMOKE_NAME}, K=16, one run, {', '.join(SMOKE_METHODS)}; no memory child, no GIMP",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.images, args.k, args.repeat, args.methods = [SMOKE_NAME], [16], 1, SMOKE_METHODS
        args.no_memory = args.no_gimp = True
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if any(not 2 <= k <= 256 for k in args.k):
        parser.error("every K must be 2..256 (the limit of the palette-based peers)")
    args.methods = [name for name in ALL_METHODS if name in args.methods]
    if OURS not in args.methods:
        args.methods.insert(0, OURS)  # every ratio and target refers to it
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = Settings(
        ks=list(args.k),
        methods=args.methods,
        repeat=args.repeat,
        slow_above_mp=args.skip_slow_above_mp,
        slow_max_k=args.slow_max_k,
        memory=not args.no_memory,
        gimp=not args.no_gimp and GIMP in args.methods,
    )
    started = time.perf_counter()
    load_at_start = load_average()
    notes: list[str] = []
    images: list[LoadedImage] = []
    uniques: dict[str, int] = {}
    for name in args.images:
        progress(f"loading {name} ...")
        try:
            pixels, source = IMAGES[name]()
        except Exception as exc:  # an image that cannot be had (no network, ...) is skipped
            notes.append(f"- {name}: skipped, could not be loaded ({table_text(error_text(exc), 400)})")
            progress(notes[-1])
            continue
        images.append(LoadedImage(name, np.ascontiguousarray(pixels, dtype=np.uint8), source))
        uniques[name] = count_colors(images[-1].pixels)

    gimp_facts: dict[str, Any] = {}
    gimp, gimp_outputs = (
        ({}, {}) if GIMP not in settings.methods else run_gimp(images, uniques, settings, gimp_facts)
    )
    reasons = {row.note for row in gimp.values() if row.status == "not run"}
    notes += [f"- gimp-indexed not run: {reason}" for reason in reasons]
    warm_up(settings.methods)

    rows: list[Row] = []
    crops: dict[str, RGBImage] = {}
    strip_source = next(
        (image for image in images if image.name == STRIP_IMAGE), images[0] if images else None
    )
    strip_k = STRIP_K if STRIP_K in settings.ks else min(settings.ks)
    out = args.out_dir

    def write_reports(complete: bool) -> None:
        text = report(rows, images, uniques, settings, load_at_start, gimp_facts, notes, complete)
        document = {
            "command": shlex.join(sys.orig_argv),
            "complete": complete,
            "images": {
                image.name: {"source": image.source, "shape": list(image.pixels.shape)} for image in images
            },
            "gimp": {key: value for key, value in gimp_facts.items() if key != "palette_colors"},
            "rows": [row.as_json() for row in rows],
            "notes": notes,
        }
        write_atomic(out / "peers.md", text)
        write_atomic(out / "peers.json", json.dumps(document, indent=1, allow_nan=False) + "\n")

    for number, image in enumerate(images, start=1):
        height, width = image.pixels.shape[:2]
        progress(
            f"[{number}/{len(images)}] {image.name}: {width}x{height}, "
            f"{uniques[image.name]:,} unique colours ({time.perf_counter() - started:.0f} s elapsed)"
        )
        sample = delta_e_sample(image)
        for k in settings.ks:
            strip = crops if image is strip_source and k == strip_k else None
            if strip is not None:
                strip["original"] = crop_for_strip(image.pixels)
            cell = bench_cell(image, uniques[image.name], k, settings, sample, strip)
            gimp_row = gimp.get((image.name, k))
            if gimp_row is not None:
                output = gimp_outputs.pop((image.name, k), None)
                if output is not None:
                    try:
                        score(gimp_row, image.pixels, output, sample)
                        if strip is not None:
                            strip[GIMP] = crop_for_strip(output)
                    except Exception as exc:  # a malformed GIMP result is that cell's error
                        gimp_row.status, gimp_row.note = "error", error_text(exc)
                cell.append(gimp_row)
            rows.extend(cell)
        if settings.memory:
            peaks = peak_memory(image.pixels, settings.ks)
            for row in rows:
                if row.image == image.name and row.method == OURS:
                    peak = peaks[row.k]
                    if isinstance(peak, str):
                        row.note = (row.note + "; " if row.note else "") + peak
                    else:
                        row.peak_mb = peak
        write_reports(complete=False)

    write_reports(complete=True)
    if strip_source is not None and crops:
        ordered = {"original": crops.pop("original")}
        ordered.update({name: crops[name] for name in ALL_METHODS if name in crops})
        side = ordered["original"].shape[0]
        title = f"{strip_source.name}, K={strip_k}: a {side}x{side} px crop, no dithering"
        strip_plot(ordered, title, out / "peers-strip.png")
    pareto_plot(rows, images, settings, out / "peers-pareto.png")
    progress(f"done in {time.perf_counter() - started:.0f} s; wrote {out}/peers.md, peers.json, *.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
