"""Speed and quality of ``quantize`` against scikit-learn ``KMeans`` on real photos.

Both run in this process, interleaved, on the same images and K: ours with
``seed=0``; scikit-learn's ``KMeans(n_clusters=K, n_init=1, random_state=0)``
(default "lloyd" algorithm, default tol) fitted on every pixel, its rounded
centres indexed by ``labels_`` to build the quantized image. Times are wall
seconds, median of ``--repeat`` runs, and include turning the uint8 image into
a uint8 quantized image on both sides.

Run from the repository root::

    python benchmarks/bench_speed.py                       # every image, K = 16 64 256
    python benchmarks/bench_speed.py --images china.jpg flower.jpg -k 16 64
    python benchmarks/bench_speed.py --quick               # china.jpg, K=16, one run
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from benchlib.data import (
    LARGE_NAME,
    LARGE_SIZE,
    SPEED_IMAGES,
    RGBImage,
    count_colors,
    describe_photo_like,
    progress,
)
from benchlib.measure import load_average, machine_facts, psnr
from benchlib.peers import Quantizer
from kmeans_quantize import quantize
from sklearn.cluster import KMeans

SEED = 0
#: On images above ``--skip-sklearn-above-mp`` megapixels, scikit-learn runs only for K up to this.
LARGE_IMAGE_SKLEARN_MAX_K = 64


@dataclass
class Outcome:
    """One peer on one image and K: median time and MSE, or why it has none."""

    times: list[float] = field(default_factory=list)
    mse: float | None = None
    error: str | None = None
    skipped: bool = False

    @property
    def seconds(self) -> float | None:
        return statistics.median(self.times) if self.times and self.error is None else None


@dataclass
class Row:
    image: str
    megapixels: float
    unique_colors: int
    k: int
    ours: Outcome
    sklearn: Outcome

    @property
    def ratio(self) -> float | None:
        """How many times faster we are: sklearn time / our time."""
        if self.ours.seconds is None or self.sklearn.seconds is None:
            return None
        return self.sklearn.seconds / self.ours.seconds


def ours(image: RGBImage, k: int) -> RGBImage:
    """Quantize with kmeans_quantize (seed 0)."""
    return quantize(image, k, seed=SEED).image


def sklearn_full(image: RGBImage, k: int) -> RGBImage:
    """Quantize with scikit-learn KMeans fitted on every pixel (n_init=1, lloyd)."""
    pixels = image.reshape(-1, 3).astype(np.float64)
    km = KMeans(n_clusters=k, n_init=1, random_state=SEED).fit(pixels)
    palette = np.clip(np.rint(km.cluster_centers_), 0, 255).astype(np.uint8)
    quantized: RGBImage = palette[km.labels_].reshape(image.shape)
    return quantized


def mse(original: RGBImage, quantized: RGBImage) -> float:
    """Mean over pixels and channels of the squared error, 0-255 scale."""
    diff = original.astype(np.float64) - quantized.astype(np.float64)
    return float(np.mean(diff * diff))


def measure(peers: dict[str, Quantizer], image: RGBImage, k: int, repeat: int) -> dict[str, Outcome]:
    """Time each peer ``repeat`` times, interleaved, and score its last output.

    The order of the peers alternates from one round to the next. A peer that
    raises is recorded as an error and not run again on this image and K.

    Parameters
    ----------
    peers : dict of name -> quantizer
        The methods to run; each maps (image, K) to a quantized image.
    image : ndarray of uint8, shape (H, W, 3)
    k : int
        Palette size.
    repeat : int
        Runs per peer.

    Returns
    -------
    dict of name -> Outcome
    """
    outcomes = {name: Outcome() for name in peers}
    outputs: dict[str, RGBImage] = {}
    for round_index in range(repeat):
        order = list(peers) if round_index % 2 == 0 else list(reversed(peers))
        for name in order:
            outcome = outcomes[name]
            if outcome.error is not None:
                continue
            try:
                start = time.perf_counter()
                outputs[name] = peers[name](image, k)
                outcome.times.append(time.perf_counter() - start)
            except Exception as exc:  # one peer failing must not stop the benchmark
                outcome.error = f"{type(exc).__name__}: {exc}"
            last = outcome.error or f"{outcome.times[-1]:.3f} s"
            progress(f"  K={k} round {round_index + 1}/{repeat} {name}: {last}")
    for name, output in outputs.items():
        if outcomes[name].error is None:
            outcomes[name].mse = mse(image, output)
    return outcomes


def bench_image(name: str, image: RGBImage, ks: list[int], repeat: int, sklearn_above_mp: float) -> list[Row]:
    """Rows of the table for one image, one per K.

    Parameters
    ----------
    name : str
        Image name for the table.
    image : ndarray of uint8, shape (H, W, 3)
    ks : list of int
        Palette sizes.
    repeat : int
        Runs per method and K.
    sklearn_above_mp : float
        Above this many megapixels, scikit-learn runs only for K <= LARGE_IMAGE_SKLEARN_MAX_K.

    Returns
    -------
    list of Row
    """
    megapixels = image.shape[0] * image.shape[1] / 1e6
    unique = count_colors(image)
    progress(f"{name}: {image.shape[1]}x{image.shape[0]}, {unique:,} unique colours")
    rows = []
    for k in ks:
        run_sklearn = megapixels <= sklearn_above_mp or k <= LARGE_IMAGE_SKLEARN_MAX_K
        peers: dict[str, Quantizer] = (
            {"ours": ours, "sklearn": sklearn_full} if run_sklearn else {"ours": ours}
        )
        outcomes = measure(peers, image, k, repeat)
        sk = outcomes.get("sklearn", Outcome(skipped=True))
        rows.append(Row(name, megapixels, unique, k, outcomes["ours"], sk))
    return rows


def warm_up() -> None:
    """Run both methods once on a tiny image so that lazy imports and thread pools are ready."""
    tiny = np.random.default_rng(SEED).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    ours(tiny, 4)
    sklearn_full(tiny, 4)


def _cell_seconds(outcome: Outcome) -> str:
    if outcome.skipped:
        return "skipped"
    if outcome.error is not None:
        return "error: " + outcome.error.replace("|", "/").replace("\n", " ")[:120]
    return f"{outcome.seconds:.3f}"


def _cell_mse(outcome: Outcome) -> str:
    return "–" if outcome.mse is None else f"{outcome.mse:.2f}"


def format_table(rows: list[Row]) -> list[str]:
    """The results as Markdown table lines."""
    lines = [
        "| image | size (MP) | unique colours | K | ours (s) | sklearn (s) | ratio (sklearn/ours) "
        "| our MSE | sklearn MSE | our PSNR (dB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        ratio = "–" if row.ratio is None else f"{row.ratio:.2f}x"
        our_psnr = "–" if row.ours.mse is None else f"{psnr(row.ours.mse):.2f}"
        lines.append(
            f"| {row.image} | {row.megapixels:.2f} | {row.unique_colors:,} | {row.k} "
            f"| {_cell_seconds(row.ours)} | {_cell_seconds(row.sklearn)} | {ratio} "
            f"| {_cell_mse(row.ours)} | {_cell_mse(row.sklearn)} | {our_psnr} |"
        )
    return lines


def summarize(rows: list[Row], ks: list[int]) -> list[str]:
    """One line per K: the worst speed ratio and whether our MSE was never above scikit-learn's."""
    lines = []
    for k in ks:
        # (row, speed ratio, sklearn's MSE) of the rows where both are known, in row order
        measured = [(r, r.ratio, r.sklearn.mse) for r in rows if r.k == k]
        compared = [(r, ratio, mse) for r, ratio, mse in measured if ratio is not None and mse is not None]
        if not compared:
            lines.append(f"- K={k}: no image with both methods measured")
            continue
        worst, worst_ratio, _ = min(compared, key=lambda entry: entry[1])
        worse = [r for r, _, sklearn_mse in compared if r.ours.mse is None or r.ours.mse > sklearn_mse]
        verdict = "yes" if not worse else "no (higher on " + ", ".join(r.image for r in worse) + ")"
        lines.append(
            f"- K={k}: worst ratio {worst_ratio:.2f}x ({worst.image}); our MSE <= sklearn's on every image: "
            f"{verdict} [{len(compared)} image(s) compared]"
        )
    return lines


def header(repeat: int, sklearn_above_mp: float, names: list[str], load_at_start: str) -> list[str]:
    """Title, machine facts and conventions, as Markdown lines."""
    lines = ["# kmeans-quantize vs scikit-learn KMeans (full data)", "", *machine_facts(load_at_start), ""]
    lines += [
        "Conventions:",
        f"- time: wall seconds, median of {repeat} run(s) per method, methods interleaved in one process; "
        "both turn the uint8 image into a uint8 quantized image",
        "- ratio = sklearn time / our time (how many times faster we are)",
        "- MSE: mean over pixels AND channels of the squared error, 0-255 scale; "
        "PSNR = 10 log10(255^2 / MSE)",
        f"- ours: quantize(image, K, seed={SEED}); sklearn: KMeans(K, n_init=1, random_state={SEED}), "
        "algorithm 'lloyd', fitted on every pixel (float64), rounded centres indexed by labels_",
        f"- on images above {sklearn_above_mp:g} MP, sklearn runs only for K <= {LARGE_IMAGE_SKLEARN_MAX_K} "
        '("skipped" otherwise)',
    ]
    if LARGE_NAME in names:
        lines.append(f"- {LARGE_NAME}: {describe_photo_like('china.jpg', *LARGE_SIZE)}")
    return [*lines, ""]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time kmeans_quantize.quantize against scikit-learn KMeans.")
    parser.add_argument(
        "--images", nargs="+", choices=list(SPEED_IMAGES), default=list(SPEED_IMAGES), help="images to run"
    )
    parser.add_argument(
        "-k", nargs="+", type=int, default=[16, 64, 256], help="palette sizes (default 16 64 256)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per method; the median is reported")
    parser.add_argument(
        "--skip-sklearn-above-mp",
        type=float,
        default=1.0,
        metavar="X",
        help=f"on images above X megapixels run sklearn only for K <= {LARGE_IMAGE_SKLEARN_MAX_K} "
        "(default 1; 'inf' runs it everywhere)",
    )
    parser.add_argument("--quick", action="store_true", help="china.jpg, K=16, one run (smoke test)")
    parser.add_argument("--out", type=Path, help="also write the report (Markdown) to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.images, args.k, args.repeat = ["china.jpg"], [16], 1
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_at_start = load_average()
    warm_up()
    rows: list[Row] = []
    notes: list[str] = []
    for name in args.images:
        try:
            image = SPEED_IMAGES[name]()
        except Exception as exc:  # an image that cannot be loaded is skipped
            notes.append(f"- {name}: skipped, could not be loaded ({type(exc).__name__}: {exc})")
            continue
        rows += bench_image(name, image, args.k, args.repeat, args.skip_sklearn_above_mp)
    report = [
        *header(args.repeat, args.skip_sklearn_above_mp, args.images, load_at_start),
        *format_table(rows),
        "",
    ]
    report += ["Summary:", *summarize(rows, args.k), *notes]
    text = "\n".join(report)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
