"""Issue 15: speed and quality on the photos people have (0.2–1 MP), against libimagequant.

Times ``quantize(image, K, seed=0)`` (RGB, no dithering) and libimagequant (PyPI ``imagequant``,
no dithering, called exactly as in ``bench_peers.py``) interleaved in one process, median of
``--repeat`` runs, on a corpus of real photographs of 0.2–1 MP:

- the sample photos: scikit-learn's china.jpg and flower.jpg; scikit-image's astronaut, coffee,
  rocket, the left image of stereo_motorcycle, hubble_deep_field, immunohistochemistry and
  retina (the last downscaled, see below). chelsea (0.14 MP) is below the range and left out;
- the twelve photographs of ``usr/share/backgrounds/mate/nature/`` in Debian's
  ``mate-backgrounds`` package, fetched into ``benchmarks/cache/`` at run time (``apt-get
  download`` + ``dpkg -x``, through ``bench_peers.fetch_package``; nothing is committed).

Photos larger than 1 MP are downscaled with Pillow LANCZOS so that their longer side is
``LONG_SIDE`` (800) pixels: 0.4–0.6 MP, the size of most web images.

``--large`` instead runs K = 64 and 256 on the images of at least 4 MP of the peer benchmark
(its two 4K wallpapers and the 12 and 24 MP photos). ``--profile NAME`` times the stages of one
``quantize`` call on one corpus photo at K = 16 and 256. ``--baseline FILE`` takes the MSE per
photo and K from an earlier run's JSON (the "before" figures) and judges the quality target
against it.

Run from the repository root::

    python benchmarks/bench_small_photos.py --out benchmarks/results/small_photos.md
    python benchmarks/bench_small_photos.py --large --out benchmarks/results/small_photos_large.md
    python benchmarks/bench_small_photos.py --profile LadyBird
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import json
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from benchlib.data import IMAGES as PEER_IMAGES
from benchlib.data import RGBImage, fetch_package, progress
from benchlib.measure import load_average, machine_facts
from benchlib.peers import libimagequant, peer_versions
from kmeans_quantize import quantize
from kmeans_quantize.metrics import mse
from PIL import Image
from sklearn.datasets import load_sample_image

HERE = Path(__file__).resolve().parent
SEED = 0
KS = (16, 64, 256)
LARGE_KS = (64, 256)
LONG_SIDE = 800
MATE_PACKAGE = "mate-backgrounds"
MATE_FOLDER = "usr/share/backgrounds/mate/nature"
LARGE_IMAGES = ("ukui-wallpapers", "gnome-backgrounds", "china_12mp", "china_24mp")

# Targets of issue 15: the largest allowed median time ratio (ours / libimagequant's) per K,
# the largest for any one photo, and those on the large images.
MEDIAN_RATIO = {16: 1.0, 64: 1.25, 256: 1.5}
WORST_RATIO = 2.5
LARGE_RATIO = {64: 0.5, 256: 0.8}
MSE_MEDIAN_SHARE = 0.95
BASELINE_SLACK = 0.005


def _downscaled(image: RGBImage) -> tuple[RGBImage, str]:
    height, width = image.shape[:2]
    if height * width <= 1_000_000:
        return image, ""
    scale = LONG_SIDE / max(height, width)
    size = (round(width * scale), round(height * scale))
    small = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))
    return small, f", downscaled from {width}x{height} (Pillow LANCZOS)"


def _skimage(name: str, pick: Callable[[Any], Any] = lambda image: image) -> tuple[RGBImage, str]:
    image = np.ascontiguousarray(pick(getattr(importlib.import_module("skimage.data"), name)())[..., :3])
    image, note = _downscaled(image)
    return image, f"scikit-image bundled photo skimage.data.{name}(){note}"


def _sklearn(name: str) -> tuple[RGBImage, str]:
    return load_sample_image(name), f"scikit-learn sample photo {name}"


def _mate(stem: str) -> tuple[RGBImage, str]:
    tree = fetch_package(MATE_PACKAGE)
    path = tree / MATE_FOLDER / f"{stem}.jpg"
    with Image.open(path) as picture:
        image = np.asarray(picture.convert("RGB"))
    image, note = _downscaled(image)
    deb = (tree / "SOURCE").read_text().strip()
    return image, f"{MATE_FOLDER}/{stem}.jpg from {deb}{note}"


MATE_PHOTOS = (
    "Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow",
    "LadyBird", "RainDrops", "Storm", "TwoWings", "Wood", "YellowFlower",
)  # fmt: skip

CORPUS: dict[str, Callable[[], tuple[RGBImage, str]]] = {
    "china.jpg": functools.partial(_sklearn, "china.jpg"),
    "flower.jpg": functools.partial(_sklearn, "flower.jpg"),
    "astronaut": functools.partial(_skimage, "astronaut"),
    "coffee": functools.partial(_skimage, "coffee"),
    "rocket": functools.partial(_skimage, "rocket"),
    "motorcycle": functools.partial(_skimage, "stereo_motorcycle", lambda triple: triple[0]),
    "hubble": functools.partial(_skimage, "hubble_deep_field"),
    "ihc": functools.partial(_skimage, "immunohistochemistry"),
    "retina": functools.partial(_skimage, "retina"),
    **{stem: functools.partial(_mate, stem) for stem in MATE_PHOTOS},
}


def ours(image: RGBImage, k: int) -> RGBImage:
    """``quantize(image, K, seed=0)``: RGB, every default."""
    return quantize(image, k, seed=SEED).image


METHODS: dict[str, Callable[[RGBImage, int], RGBImage]] = {"ours": ours, "imagequant": libimagequant}


@dataclass
class Row:
    image: str
    megapixels: float
    unique: int
    k: int
    times: dict[str, list[float]] = field(default_factory=dict)
    #: CPU seconds of the process in each run (ours uses a second thread on large histograms).
    cpu: dict[str, list[float]] = field(default_factory=dict)
    mse: dict[str, float] = field(default_factory=dict)
    baseline_mse: float | None = None

    def seconds(self, method: str) -> float:
        return statistics.median(self.times[method])

    @property
    def time_ratio(self) -> float:
        return self.seconds("ours") / self.seconds("imagequant")

    @property
    def mse_ratio(self) -> float:
        return self.mse["ours"] / self.mse["imagequant"]


def measure(name: str, image: RGBImage, k: int, repeat: int) -> Row:
    """Both methods ``repeat`` times, interleaved (the order alternates), scored on the last run."""
    unique = int(np.unique(image.reshape(-1, 3).astype(np.uint32) @ np.array([65536, 256, 1])).size)
    row = Row(name, image.shape[0] * image.shape[1] / 1e6, unique, k)
    names = list(METHODS)
    for round_index in range(repeat):
        for method in names if round_index % 2 == 0 else names[::-1]:
            start, start_cpu = time.perf_counter(), time.process_time()
            output = METHODS[method](image, k)
            row.times.setdefault(method, []).append(time.perf_counter() - start)
            row.cpu.setdefault(method, []).append(time.process_time() - start_cpu)
            row.mse[method] = mse(image, output)
    progress(
        f"  {name} K={k}: ours {row.seconds('ours'):.3f} s, imagequant {row.seconds('imagequant'):.3f} s "
        f"({row.time_ratio:.2f}x), MSE ratio {row.mse_ratio:.3f}"
    )
    return row


# ---------------------------------------------------------------------------------------------
# Per-stage profile


#: (module, attribute, stage): functions timed by the profile, by the name the caller looks up.
STAGES = (
    ("kmeans_quantize.quantize", "color_histogram", "histogram"),
    ("kmeans_quantize.quantize", "coarse_to_fine_start", "seeding, all of it"),
    ("kmeans_quantize.initialization", "coarsen", "  grids (coarsen)"),
    ("kmeans_quantize.initialization", "_merge_cells", "  grids (coarsen)"),
    ("kmeans_quantize.initialization", "init_kmeans_plusplus", "  k-means++ on the coarsest grid"),
    ("kmeans_quantize.initialization", "lloyd", "  k-means on the grids"),
    ("kmeans_quantize.initialization", "split_merge", "  split–merge"),
    ("kmeans_quantize.quantize", "lloyd", "exact k-means on the histogram"),
    ("kmeans_quantize.quantize", "relabel", "rounding the centres: relabel"),
)


@contextlib.contextmanager
def timed_stages(spent: dict[str, float], notes: dict[str, Any]) -> Iterator[None]:
    """Wrap the functions of ``STAGES`` so that their inclusive times add up in ``spent``."""
    saved = []
    for module_name, attribute, stage in STAGES:
        module = importlib.import_module(module_name)
        original = getattr(module, attribute, None)
        if original is None:
            continue

        def wrapper(*args: Any, _original: Any = original, _stage: str = stage, **kwargs: Any) -> Any:
            start = time.perf_counter()
            result = _original(*args, **kwargs)
            spent[_stage] = spent.get(_stage, 0.0) + time.perf_counter() - start
            if _stage.startswith("exact"):
                notes["n_iter"], notes["converged"] = result.n_iter, result.converged
            return result

        saved.append((module, attribute, original))
        setattr(module, attribute, wrapper)
    try:
        yield
    finally:
        for module, attribute, original in saved:
            setattr(module, attribute, original)


def profile(name: str, image: RGBImage, ks: tuple[int, ...], repeat: int) -> list[str]:
    """Markdown lines: the stages of ``quantize`` on one photo per K (the run of median total)."""
    lines = []
    for k in ks:
        runs = []
        for _ in range(repeat):
            spent: dict[str, float] = {}
            notes: dict[str, Any] = {}
            with timed_stages(spent, notes):
                start = time.perf_counter()
                ours(image, k)
                total = time.perf_counter() - start
            quant_start = time.perf_counter()
            libimagequant(image, k)
            runs.append((total, spent, notes, time.perf_counter() - quant_start))
        runs.sort(key=lambda run: run[0])
        total, spent, notes, quant = runs[len(runs) // 2]
        quant_median = statistics.median(run[3] for run in runs)
        accounted = sum(value for stage, value in spent.items() if not stage.startswith("  "))
        lines += [
            f"**{name}, K = {k}**: total {total:.3f} s = {total / quant_median:.2f}× libimagequant's "
            f"{quant_median:.3f} s (median of {repeat}, interleaved); exact k-means: "
            f"{notes.get('n_iter')} iterations, converged={notes.get('converged')}",
            "",
            "| stage | seconds | share |",
            "|---|---|---|",
            *[
                f"| {stage.strip() if not stage.startswith('  ') else '↳ ' + stage.strip()} | {value:.3f} | "
                f"{value / total:.0%} |"
                for stage, value in sorted(spent.items(), key=lambda item: _stage_rank(item[0]))
            ],
            f"| the rest (pixels, encoding, rounding, mapping, painting) | {total - accounted:.3f} | "
            f"{(total - accounted) / total:.0%} |",
            "",
        ]
    return lines


def _stage_rank(stage: str) -> int:
    return [entry[2] for entry in STAGES].index(stage)  # the first entry of a stage


# ---------------------------------------------------------------------------------------------
# What a looser stopping rule would save and cost

STUDY_TOLS = (0.1, 0.2, 0.3, 0.5, 0.0)


def tol_study(names: list[str], ks: tuple[int, ...]) -> list[str]:
    """Markdown lines: our MSE and time at each ``tol`` of STUDY_TOLS, relative to ``tol=0.1``.

    One run per photo, K and tol (tols in turn), so the times are rough; the MSEs are exact.
    """
    found: dict[tuple[int, float], list[tuple[float, float]]] = {}
    for name in names:
        image, _ = CORPUS[name]()
        for k in ks:
            seconds, errors = {}, {}
            for tol in STUDY_TOLS:
                start = time.perf_counter()
                output = quantize(image, k, seed=SEED, tol=tol).image
                seconds[tol], errors[tol] = time.perf_counter() - start, mse(image, output)
            for tol in STUDY_TOLS:
                found.setdefault((k, tol), []).append(
                    (errors[tol] / errors[0.1] - 1, seconds[tol] / seconds[0.1])
                )
            progress(f"  tol study {name} K={k}")
    lines = [
        "| K | tol | MSE change vs tol=0.1 (median, worst) | time / tol=0.1's (median) |",
        "|---|---|---|---|",
    ]
    for k in ks:
        for tol in STUDY_TOLS[1:]:
            changes = [change for change, _ in found[(k, tol)]]
            ratios = [ratio for _, ratio in found[(k, tol)]]
            lines.append(
                f"| {k} | {tol:g} | {statistics.median(changes):+.2%}, {max(changes):+.2%} | "
                f"{statistics.median(ratios):.2f} |"
            )
    return lines


# ---------------------------------------------------------------------------------------------
# Report


def _median_range(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}×, {min(values):.2f}–{max(values):.2f}×"


def summary_table(rows: list[Row], ks: tuple[int, ...]) -> list[str]:
    lines = [
        "| K | our MSE / libimagequant's (median, worst) | our time / libimagequant's (median, range) |",
        "|---|---|---|",
    ]
    for k in ks:
        group = [row for row in rows if row.k == k]
        if group:
            mse_ratios = [row.mse_ratio for row in group]
            lines.append(
                f"| {k} | {statistics.median(mse_ratios):.3f}, {max(mse_ratios):.3f} | "
                f"{_median_range([row.time_ratio for row in group])} |"
            )
    return lines


def photo_table(rows: list[Row]) -> list[str]:
    lines = [
        "| photo | MP | colours | K | ours s | imagequant s | time ratio | CPU s: ours, imagequant | "
        "our MSE | imagequant MSE | MSE ratio | baseline MSE | vs baseline |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        base = "–" if row.baseline_mse is None else f"{row.baseline_mse:.3f}"
        change = "–" if row.baseline_mse is None else f"{row.mse['ours'] / row.baseline_mse - 1:+.2%}"
        lines.append(
            f"| {row.image} | {row.megapixels:.2f} | {row.unique:,} | {row.k} | {row.seconds('ours'):.3f} | "
            f"{row.seconds('imagequant'):.3f} | {row.time_ratio:.2f} | "
            f"{statistics.median(row.cpu['ours']):.3f}, {statistics.median(row.cpu['imagequant']):.3f} | "
            f"{row.mse['ours']:.3f} | "
            f"{row.mse['imagequant']:.3f} | {row.mse_ratio:.3f} | {base} | {change} |"
        )
    return lines


def _status(ok: bool) -> str:
    return "**PASS**" if ok else "**FAIL**"


def targets(rows: list[Row], ks: tuple[int, ...], large: bool) -> list[str]:
    lines = []
    for k in ks:
        group = [row for row in rows if row.k == k]
        if not group:
            continue
        ratios = [row.time_ratio for row in group]
        if large:
            worst = max(group, key=lambda row: row.time_ratio)
            lines.append(
                f"- K = {k}, every image ≤ {LARGE_RATIO[k]:g}× libimagequant's time: "
                f"{_status(worst.time_ratio <= LARGE_RATIO[k])} "
                f"(worst {worst.time_ratio:.2f}×, {worst.image})"
            )
            continue
        median = statistics.median(ratios)
        lines.append(
            f"- K = {k}, median time ratio ≤ {MEDIAN_RATIO[k]:g}: {_status(median <= MEDIAN_RATIO[k])} "
            f"({median:.2f}×)"
        )
    if not large:
        worst = max(rows, key=lambda row: row.time_ratio)
        lines.append(
            f"- no photo above {WORST_RATIO:g}× libimagequant's time: "
            f"{_status(worst.time_ratio <= WORST_RATIO)} "
            f"(worst {worst.time_ratio:.2f}×, {worst.image} at K = {worst.k})"
        )
    for k in ks:
        group = [row for row in rows if row.k == k]
        if not group:
            continue
        median = statistics.median(row.mse_ratio for row in group)
        worst = max(group, key=lambda row: row.mse_ratio)
        lines.append(
            f"- K = {k}, MSE ≤ {MSE_MEDIAN_SHARE:g}× libimagequant's (median) and below it on every "
            f"image: {_status(median <= MSE_MEDIAN_SHARE and worst.mse_ratio < 1)} (median {median:.3f}, "
            f"worst {worst.mse_ratio:.3f}, {worst.image})"
        )
    with_base = [row for row in rows if row.baseline_mse is not None]
    if with_base:
        worst = max(with_base, key=lambda row: row.mse["ours"] / row.baseline_mse)  # type: ignore[operator]
        change = worst.mse["ours"] / worst.baseline_mse - 1  # type: ignore[operator]
        lines.append(
            f"- MSE within {BASELINE_SLACK:.1%} of the baseline on every image and K: "
            f"{_status(change <= BASELINE_SLACK)} (worst {change:+.2%}, {worst.image} at K = {worst.k})"
        )
    return lines


def report(
    rows: list[Row], sources: dict[str, str], ks: tuple[int, ...], args: argparse.Namespace, load: str
) -> str:
    command = "python benchmarks/" + " ".join(
        shlex.quote(arg) for arg in [Path(sys.argv[0]).name, *sys.argv[1:]]
    )
    title = "photos of at least 4 MP (peer benchmark)" if args.large else "photos of 0.2–1 MP"
    lines = [
        f"# Issue 15: ours against libimagequant on {title}",
        "",
        f"Command: `{command}`",
        "",
        *machine_facts(load),
        peer_versions({}),
        f"- load average at the end: {load_average()}",
        "",
        f"Time: wall seconds, median of {args.repeat} runs, ours (`quantize(image, K, seed=0)`, RGB, no "
        "dithering) and libimagequant (`imagequant.quantize_pil_image(image, dithering_level=0.0, "
        "max_colors=K)`) interleaved, the order alternating. Time ratio = ours / libimagequant's (below 1: "
        "ours faster). Ours runs the k-means of histograms of 80,000 colours or more in two threads "
        "(`kmeans.SHARD_MIN_POINTS`); this libimagequant (PyPI `imagequant`, not linked with OpenMP) runs "
        "in one. CPU s: the process's CPU time in the runs of each (median). MSE: per channel, 0–255 "
        "scale. "
        + (f"Baseline: our MSE in `{args.baseline}`." if args.baseline else "Baseline: none given."),
        "",
        "## Summary",
        "",
        *summary_table(rows, ks),
        "",
        "## Targets",
        "",
        *targets(rows, ks, args.large),
        "",
        "## Every photo",
        "",
        *photo_table(rows),
        "",
        "## Photos",
        "",
        *[f"- {name}: {source}" for name, source in sources.items()],
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", nargs="+", help="a subset of the corpus (or of the large images)")
    parser.add_argument("-k", type=int, nargs="+", help="palette sizes (default 16 64 256; --large: 64 256)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--large", action="store_true", help="the ≥ 4 MP images of the peer benchmark")
    parser.add_argument("--profile", metavar="NAME", help="per-stage times on one photo (corpus or --large)")
    parser.add_argument(
        "--tol-study", action="store_true", help="MSE and time at tol 0.2, 0.3, 0.5, 0 vs 0.1"
    )
    parser.add_argument("--baseline", type=Path, help="JSON of an earlier run: its MSE is the baseline")
    parser.add_argument(
        "--out", type=Path, help="write the Markdown report here, and the rows beside it (.json)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load = load_average()
    ours(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8), 4)  # warm-up
    libimagequant(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8), 4)
    if args.profile:
        image, source = {**PEER_IMAGES, **CORPUS}[args.profile]()
        text = "\n".join(
            [
                f"Profile of `quantize(image, K, seed=0)` on {args.profile} "
                f"({image.shape[1]}x{image.shape[0]}, "
                f"{source}); command: `python benchmarks/bench_small_photos.py --profile {args.profile}`",
                "",
                *profile(args.profile, image, tuple(args.k or (16, 256)), args.repeat),
            ]
        )
        print(text)
        if args.out:
            args.out.write_text(text + "\n")
        return 0
    if args.tol_study:
        text = "\n".join(
            [
                "Our MSE and time with other `tol` values, relative to the default `tol=0.1`, on the "
                "corpus (one run each); command: `python benchmarks/bench_small_photos.py --tol-study`",
                "",
                *tol_study(args.images or list(CORPUS), tuple(args.k or KS)),
            ]
        )
        print(text)
        if args.out:
            args.out.write_text(text + "\n")
        return 0
    loaders = {name: PEER_IMAGES[name] for name in LARGE_IMAGES} if args.large else CORPUS
    names = args.images or list(loaders)
    ks = tuple(args.k or (LARGE_KS if args.large else KS))
    baseline: dict[tuple[str, int], float] = {}
    if args.baseline:
        for entry in json.loads(args.baseline.read_text())["rows"]:
            baseline[(entry["image"], entry["k"])] = entry["mse"]["ours"]
    rows: list[Row] = []
    sources: dict[str, str] = {}
    for name in names:
        image, sources[name] = loaders[name]()
        progress(f"{name}: {image.shape[1]}x{image.shape[0]}")
        for k in ks:
            row = measure(name, image, k, args.repeat)
            row.baseline_mse = baseline.get((name, k))
            rows.append(row)
        del image
    text = report(rows, sources, ks, args, load)
    print(text)
    if args.out:
        args.out.write_text(text)
        args.out.with_suffix(".json").write_text(
            json.dumps({"rows": [asdict(row) for row in rows], "sources": sources}, indent=1) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
