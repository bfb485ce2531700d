"""The whole GIMP filter run, numpy engine against the numpy-free engine (issue 11, item 4).

GIMP 3 is started twice, headless, through ``tests/gimp/gimp_harness.py`` (the host's
``gimp-console-3.X`` or the cached Debian root): first with numpy hidden from GIMP's Python (a
stand-in ``numpy`` package on PYTHONPATH whose import fails, as on GIMP's Windows, macOS and
Flatpak builds), so that the plug-in runs its numpy-free engine; then with GIMP's numpy and
``KMQ_ENGINE=numpy``. Two GIMP starts cannot be interleaved, so the load average is recorded
before and after each. In each, ``bench_gimp_engines_in_gimp.py`` builds a fresh one-layer RGB
image per row and times ``procedure.run(config)`` of ``plug-in-kmeans-quantize`` inside GIMP:
the whole filter run, from starting the plug-in's Python and reading the layer to the new layer.

Rows: for every image and K, ``n-colors`` K, ``color-space`` rgb, ``dither`` none, ``seed`` 0
(the setting of the issue's targets); and per image one row with the plug-in's defaults (lab,
Floyd-Steinberg, K = 8), except on images above 10 MP, which get only K = 16 in rgb. The new
layers come back as raw RGBA bytes; the RGB MSE against the source is computed here. The
issue-11 time targets (numpy-free engine, rgb, no dithering: 4 MP K = 16 / 64 / 256 within
3 / 6 / 20 s, 24 MP K = 16 within 20 s) are judged per row.

Run from the repository root (as root, for the chroot)::

    python benchmarks/bench_gimp_engines.py                        # everything: long on 2 cores
    python benchmarks/bench_gimp_engines.py --images china.jpg -k 16 --out /tmp/smoke.md
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from bench_pure_python import IMAGES, LARGE_KS, LARGE_MP, TIME_TARGETS
from benchlib.data import LoadedImage, count_colors
from benchlib.gimp import (
    ENGINE_ORDER,
    TIMEOUT_BASE,
    GimpStart,
    engine_line,
    failure,
    run_engine_job,
    write_engine_inputs,
)
from benchlib.measure import load_average, machine_facts, mse_by_rows
from benchlib.report import write_atomic

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "gimp"))
from gimp_harness import RELEASES, Gimp3, find_gimp3, selected_release  # noqa: E402

HERE = Path(__file__).resolve().parent
IN_GIMP = HERE / "bench_gimp_engines_in_gimp.py"
DEFAULT_IMAGES = ["china.jpg", "flower.jpg", "china_4mp", "china_24mp"]
DEFAULT_KS = [16, 64, 256]
#: The engine runs, in order (the numpy-free one first), and what each adds to GIMP's environment
#: beside :data:`gimp_harness.ENGINES`: the numpy run insists on numpy rather than falling back.
#: Settings of the rows judged against the targets; the others run with the plug-in's defaults.
SEED = 0
RGB_SETTINGS = {"color-space": "rgb", "dither": "none", "seed": SEED}
DEFAULTS = "defaults"
#: Seconds allowed per megapixel per row, beside gimp_indexed.TIMEOUT_BASE, for one GIMP start
#: (the numpy-free engine can take minutes on 24 MP; this is generous).
TIMEOUT_PER_MEGAPIXEL = 60.0


@dataclass
class RowSpec:
    """One filter run asked of both engines: an image and the settings on top of the defaults."""

    image: LoadedImage
    kind: str  # "rgb" (the targets' settings) or DEFAULTS
    settings: dict[str, Any]

    @property
    def k(self) -> int | None:
        """K when the row sets it (None for the defaults row until a run says)."""
        value = self.settings.get("n-colors")
        return None if value is None else int(value)


@dataclass
class Outcome:
    """One row as one engine ran it."""

    seconds: float | None = None
    mse: float | None = None
    colors: int | None = None
    opaque: bool | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class EngineRun(GimpStart):
    """One GIMP start with one engine (:class:`GimpStart`), and the rows it ran."""

    warm_up: dict[str, Any] | None = None
    outcomes: dict[int, Outcome] = field(default_factory=dict)


def plan(images: list[LoadedImage], ks: list[int], defaults: bool = True) -> list[RowSpec]:
    """The rows: every K in rgb without dithering, then the defaults, per image.

    Parameters
    ----------
    images : list of LoadedImage
        The images, in order.
    ks : list of int
        Palette sizes; above :data:`LARGE_MP` megapixels only those in :data:`LARGE_KS` run,
        and no defaults row.
    defaults : bool, optional
        Whether to add the row with the plug-in's defaults (default True).

    Returns
    -------
    list of RowSpec
    """
    rows = []
    for image in images:
        large = image.megapixels > LARGE_MP
        for k in ks:
            if not large or k in LARGE_KS:
                rows.append(RowSpec(image, "rgb", {"n-colors": k, **RGB_SETTINGS}))
        if defaults and not large:
            rows.append(RowSpec(image, DEFAULTS, {}))
    return rows


def default_timeout(rows: list[RowSpec]) -> float:
    """Seconds allowed for one GIMP start that runs ``rows`` (warm-up and reading back included)."""
    return TIMEOUT_BASE + TIMEOUT_PER_MEGAPIXEL * sum(row.image.megapixels for row in rows)


def score(image: LoadedImage, raw: Path, result: dict[str, Any]) -> Outcome:
    """The outcome of a row whose new layer's ``R'G'B'A u8`` bytes are in ``raw``."""
    height, width, _ = image.pixels.shape
    rgba = np.fromfile(raw, np.uint8).reshape(height, width, 4)
    rgb = rgba[..., :3]
    return Outcome(
        seconds=float(result["seconds"]),
        mse=mse_by_rows(image.pixels, rgb),
        colors=count_colors(rgb),
        opaque=bool((rgba[..., 3] == 255).all()),
        settings=result["settings"],
    )


def run_engine(gimp3: Gimp3, engine: str, rows: list[RowSpec], timeout: float) -> EngineRun:
    """Start GIMP once with ``engine`` and run every row; a failure is recorded, not raised.

    Parameters
    ----------
    gimp3 : Gimp3
        How to start GIMP.
    engine : str
        ``"numpy-free"`` (numpy hidden from GIMP's Python) or ``"numpy"``.
    rows : list of RowSpec
        What to run, in order.
    timeout : float
        Seconds allowed for the whole GIMP start; then its process group is killed.

    Returns
    -------
    EngineRun
        The rows that finished (a row that failed inside GIMP carries its error), GIMP's facts,
        the load average before and after, and ``failure`` when GIMP did not run through.
    """
    run = EngineRun(engine)
    images = list({id(row.image): row.image for row in rows}.values())
    with gimp3.workspace() as space:
        (space.host / "out").mkdir()
        numbers = {id(image): number for number, image in enumerate(images)}
        job = {
            "engine": engine,
            "images": write_engine_inputs(space, images),
            "rows": [{"image": numbers[id(row.image)], "settings": row.settings} for row in rows],
        }
        status, results = run_engine_job(gimp3, space, run, IN_GIMP, job, {}, timeout)
        run.warm_up = results.get("warm_up")
        for result in results.get("rows", []):
            number = result["row"]
            if result.get("file"):
                run.outcomes[number] = score(rows[number].image, space.host / result["file"], result)
            else:
                error = f"{result['status']}: {result['message']}".strip()
                run.outcomes[number] = Outcome(
                    seconds=result.get("seconds"), settings=result.get("settings", {}), error=error
                )
        if status != 0 or not results.get("done"):
            run.failure = failure(gimp3, space, status, timeout, results)
    return run


def _seconds(outcome: Outcome | None) -> str:
    if outcome is None:
        return "not run"
    if outcome.error is not None:
        return "failed"
    return f"{outcome.seconds:.2f}"


def _ratio(numerator: float | None, denominator: float | None, digits: int) -> str:
    if numerator is None or denominator is None or denominator == 0:
        return "–"
    return f"{numerator / denominator:.{digits}f}"


def _settings_text(row: RowSpec, outcomes: list[Outcome | None]) -> tuple[str, str]:
    """The row's settings column and its K, from what the procedure reported it ran with."""
    used = next((outcome.settings for outcome in outcomes if outcome is not None and outcome.settings), {})
    k = str(used.get("n-colors", row.k if row.k is not None else "?"))
    if row.kind == DEFAULTS:
        space, dither = used.get("color-space", "?"), used.get("dither", "?")
        return f"plug-in defaults ({space}, {dither})", k
    return "rgb, no dithering", k


def target(row: RowSpec, free: Outcome | None) -> str:
    """The issue-11 time target of this row judged on the numpy-free time, or "–" if none applies."""
    limit = TIME_TARGETS.get((row.image.name, row.k or 0)) if row.kind == "rgb" else None
    if limit is None:
        return "–"
    if free is None or free.error is not None or free.seconds is None:
        return f"≤ {limit:g} s: not measured"
    if free.seconds <= limit:
        return f"≤ {limit:g} s: PASS"
    return f"**≤ {limit:g} s: FAIL**"


def row_line(row: RowSpec, free: Outcome | None, numpy: Outcome | None) -> str:
    """One Markdown table line."""
    settings, k = _settings_text(row, [free, numpy])
    height, width, _ = row.image.pixels.shape
    notes = []
    for name, outcome in (("numpy-free", free), ("numpy", numpy)):
        if outcome is not None and outcome.colors is not None and k.isdigit() and outcome.colors > int(k):
            notes.append(f"{name}: more than K colours")
        if outcome is not None and outcome.opaque is False:
            notes.append(f"{name}: new layer not opaque")

    def mse(outcome: Outcome | None) -> str:
        return "–" if outcome is None or outcome.mse is None else f"{outcome.mse:.3f}"

    def mse_of(outcome: Outcome | None) -> float | None:
        return None if outcome is None else outcome.mse

    def colors(outcome: Outcome | None) -> str:
        return "–" if outcome is None or outcome.colors is None else str(outcome.colors)

    def seconds(outcome: Outcome | None) -> float | None:
        return None if outcome is None or outcome.error is not None else outcome.seconds

    return (
        f"| {row.image.name} | {width}x{height} | {settings} | {k} | {_seconds(free)} | {_seconds(numpy)} "
        f"| {_ratio(seconds(free), seconds(numpy), 1)} | {mse(free)} | {mse(numpy)} "
        f"| {_ratio(mse_of(free), mse_of(numpy), 4)} | {colors(free)} / {colors(numpy)} "
        f"| {target(row, free)}{'; ' + '; '.join(notes) if notes else ''} |"
    )


def gimp_lines(gimp3: Gimp3, runs: dict[str, EngineRun]) -> list[str]:
    """Markdown list lines about GIMP, its Python and each GIMP start."""
    facts = next((run.facts for run in runs.values() if run.facts), {})
    lines = [f"- GIMP: {gimp3.describe()}"]
    if facts:
        lines.append(
            f"- GIMP {facts['gimp_version']}, {facts['num_processors']} threads (num-processors), "
            f"tile-cache-size {facts['gimprc_tile_cache_size']}; GIMP's Python {facts['python_version']} "
            f"({facts['python_executable']})"
        )
    for engine, run in runs.items():
        warm = run.warm_up or {}
        warm_text = f"{warm['seconds']:.2f} s ({warm['status']})" if "seconds" in warm else "not measured"
        lines.append(
            engine_line(
                engine,
                run.facts,
                f"{run.load_text()}; a run on a 32x32 image (fixed cost: the plug-in's process start and "
                f"imports) {warm_text}{'; **failed** (see below)' if run.failure else ''}",
            )
        )
    return lines


def report(
    gimp3: Gimp3,
    rows: list[RowSpec],
    runs: dict[str, EngineRun],
    load_at_start: str,
    partial: str | None,
) -> str:
    """The Markdown report of the runs so far."""
    lines = ["# The GIMP filter run: numpy-free engine against the numpy engine (issue 11, item 4)", ""]
    if partial:
        lines += [f"**{partial}**", ""]
    lines += [
        "Host (starts GIMP, builds the images, computes MSE):",
        "",
        *machine_facts(load_at_start),
        *gimp_lines(gimp3, runs),
        "",
        "Seconds: `procedure.run(config)` of `plug-in-kmeans-quantize` (NONINTERACTIVE) timed with "
        "`time.perf_counter()` inside GIMP, one run per cell: the whole filter run, from starting the "
        "plug-in's Python and reading the layer to the new layer (a fresh one-layer 8-bit RGB image "
        "per run). The engines ran in separate GIMP starts, numpy-free first, so machine load may "
        "differ between them (load averages above). Time ratio: numpy-free / numpy (above 1: the "
        "numpy-free engine is slower). MSE: RGB mean over pixels and channels, 0-255 scale, of the "
        "new layer against the source; MSE ratio numpy-free / numpy. Colours: distinct colours in "
        "the new layer. Rows `rgb, no dithering`: n-colors K, color-space rgb, dither none, seed 0 "
        "(the settings of the issue's targets; target column: numpy-free seconds). Rows `plug-in "
        "defaults`: only image and drawable set (MSE includes the dithering's noise).",
        "",
        "| image | size | settings | K | numpy-free s | numpy s | time ratio | numpy-free MSE | numpy MSE "
        "| MSE ratio | colours (free / numpy) | time target |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for number, row in enumerate(rows):
        outcomes = [runs[engine].outcomes.get(number) if engine in runs else None for engine in ENGINE_ORDER]
        lines.append(row_line(row, *outcomes))
    errors = [
        f"- {runs[engine].engine}, row {number + 1} ({row.image.name}): {outcome.error}"
        for engine in ENGINE_ORDER
        if engine in runs
        for number, row in enumerate(rows)
        if (outcome := runs[engine].outcomes.get(number)) is not None and outcome.error is not None
    ]
    failures = [f"### {engine} run\n\n```\n{run.failure}\n```" for engine, run in runs.items() if run.failure]
    if errors or failures:
        lines += ["", "## Failures", "", *errors, *failures]
    images = list({id(row.image): row.image for row in rows}.values())
    lines += ["", "Images:", ""]
    lines += [f"- {image.name}: {image.source}; {image.megapixels:.2f} MP" for image in images]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--images",
        nargs="+",
        choices=list(IMAGES),
        default=DEFAULT_IMAGES,
        help=f"images (default {' '.join(DEFAULT_IMAGES)})",
    )
    parser.add_argument(
        "-k", type=int, nargs="+", default=DEFAULT_KS, help="palette sizes (default 16 64 256)"
    )
    parser.add_argument(
        "--gimp-version",
        choices=list(RELEASES),
        default=None,
        help="GIMP release to run (default $KMQ_GIMP_VERSION, else 3.0)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help=f"seconds per GIMP start (default {TIMEOUT_BASE:g} + {TIMEOUT_PER_MEGAPIXEL:g} per MP per row)",
    )
    parser.add_argument(
        "--no-defaults", action="store_true", help="leave out the rows with the plug-in's defaults"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "gimp_engines.md")
    args = parser.parse_args(argv)
    if any(not 2 <= k <= 256 for k in args.k):
        parser.error(f"every K must be 2..256 (the plug-in's range), got {args.k}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run both engines in GIMP, print the report and write it to ``--out``; 1 if a run failed."""
    args = parse_args(argv)
    load_at_start = load_average()
    release = RELEASES[args.gimp_version] if args.gimp_version else selected_release()
    gimp3 = find_gimp3(release)
    if isinstance(gimp3, str):
        print(f"GIMP {release.version} cannot run here: {gimp3}", file=sys.stderr)
        return 1
    images = []
    for name in args.images:
        pixels, source = IMAGES[name]()
        images.append(LoadedImage(name, pixels, source))
    rows = plan(images, args.k, defaults=not args.no_defaults)
    partial = None
    if args.images != DEFAULT_IMAGES or args.k != DEFAULT_KS or args.no_defaults:
        partial = (
            f"Partial run (images {' '.join(args.images)}, K {' '.join(map(str, args.k))}"
            f"{', no defaults rows' if args.no_defaults else ''}), not the full benchmark."
        )
    timeout = args.timeout if args.timeout is not None else default_timeout(rows)
    runs: dict[str, EngineRun] = {}
    for engine in ENGINE_ORDER:
        print(
            f"{engine}: one GIMP start, {len(rows)} rows (timeout {timeout:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
        runs[engine] = run_engine(gimp3, engine, rows, timeout)
        write_atomic(args.out, report(gimp3, rows, runs, load_at_start, partial))
    text = report(gimp3, rows, runs, load_at_start, partial)
    write_atomic(args.out, text)
    print(text)
    failed = any(run.failure or any(o.error for o in run.outcomes.values()) for run in runs.values())
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
