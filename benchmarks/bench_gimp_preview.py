"""The GIMP dialog's live preview: how long each update takes and how long the dialog freezes (issue 12).

GIMP 3 is started twice with its windows on a virtual screen (Xvfb), through
``tests/gimp/gimp_harness.py`` (``gui=True``), with ``KMQ_PREVIEW_LOG`` set so that the plug-in
logs every finished preview: first with numpy hidden from GIMP's Python (the suite's stand-in
``numpy`` package on PYTHONPATH), so that the plug-in uses its numpy-free engine, then with GIMP's
numpy and ``KMQ_ENGINE=numpy``. In each, ``bench_gimp_preview_in_gimp.py`` opens the filter's
dialog (INTERACTIVE) on each image while a helper process types into it with xdotool, as the GIMP
test suite does:

- ``china.jpg`` (scikit-learn, 640x427; the preview's copy is 360x240): after the first preview
  (the plug-in's defaults: K = 8, lab, Floyd-Steinberg), K = 64, 8, 64, 8, 256, 8, 256, 64 are
  typed one after the other, each only once the previous one's preview was logged (so every
  change starts exactly one update); then "Dithering" is set to None and K = 8, 64, 8, 64, 256,
  8, 256, 8 follow; then twice a change during a computation (K = 256, and 0.4 s after its Tab
  K = 64, then back to 8); then the dialog is cancelled. Afterwards the same computations are repeated
  outside the dialog with the plug-in's own engine classes, every progress call timed (see
  below: the "tail").
- ``china_24mp`` (china.jpg upscaled to 6000x4000 with noise, as ``bench_pure_python.py`` and
  ``bench_memory.photo_like`` build it): the time from calling the procedure to the first preview
  (the plug-in reads the layer scaled down to 360x240 before the dialog shows), then K = 64.

From the log: per engine, dithering and K, the computation (``seconds``) and the dialog's
``longest_pause`` (the preview is computed in a worker thread; a 10 ms timer in the dialog's main
loop notes the longest gap between its runs meanwhile: how long the dialog went without running
a Python callback), median and max; from the helper's timestamps, the time from committing a K
(Tab) to the log line (debounce + computation + drawing). The replay measures the stretches
between the engine's progress calls, where the worker notices a changed setting: how late a
change restarts a computation, not a freeze.

Run from the repository root (as root, for the chroot)::

    python benchmarks/bench_gimp_preview.py                  # both images, both engines: minutes
    python benchmarks/bench_gimp_preview.py --images china.jpg --out /tmp/preview.md
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_pure_python import IMAGES
from benchlib.data import LoadedImage
from benchlib.gimp import ENGINE_ORDER, GimpStart, engine_line, failure, run_engine_job, write_engine_inputs
from benchlib.measure import load_average, machine_facts
from benchlib.report import write_atomic

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "gimp"))
from gimp_harness import RELEASES, Gimp3, find_gimp3, selected_release  # noqa: E402

HERE = Path(__file__).resolve().parent
IN_GIMP = HERE / "bench_gimp_preview_in_gimp.py"
DEFAULT_IMAGES = ["china.jpg", "china_24mp"]
#: The issue's limit on a freeze of the dialog per update (at K <= 64 with numpy).
PAUSE_LIMIT = 0.3
#: What the helper types after the first preview (K values, or "dither-none"), per image kind.
#: A restart step types the first K, then the second one this long after (the first K's
#: computation under way: it starts 150 ms after the change and takes longer at K = 256).
RESTART_AFTER = 0.4
RESTART: dict[str, Any] = {"restart": [256, 64], "after": RESTART_AFTER}
FULL_STEPS: list[Any] = [
    64,
    8,
    64,
    8,
    256,
    8,
    256,
    64,
    "dither-none",
    8,
    64,
    8,
    64,
    256,
    8,
    256,
    8,
    RESTART,
    8,
    RESTART,
]
LARGE_STEPS: list[Any] = [64]
LARGE_MP = 10.0
#: Seconds the helper waits for one preview, and for the dialog and its first preview.
STEP_TIMEOUT = 180
DIALOG_TIMEOUT = 300
#: Replays of each setting outside the dialog.
REPLAY_REPEAT = 3
TIMEOUT_BASE = 300.0
TIMEOUT_PER_STEP = 60.0


@dataclass
class EngineRun(GimpStart):
    """One GIMP start with one engine (:class:`GimpStart`): each image's record, and the previews
    the plug-in logged."""

    images: list[dict[str, Any]] = field(default_factory=list)
    previews: list[dict[str, Any]] = field(default_factory=list)


def steps_for(image: LoadedImage) -> list[Any]:
    return LARGE_STEPS if image.megapixels > LARGE_MP else FULL_STEPS


def run_engine(gimp3: Gimp3, engine: str, images: list[LoadedImage], timeout: float) -> EngineRun:
    """Start GIMP once with ``engine``, open the dialog on every image; failures are recorded."""
    run = EngineRun(engine)
    with gimp3.workspace() as space:
        entries = write_engine_inputs(space, images)
        for entry, image in zip(entries, images, strict=True):
            entry.update(steps=steps_for(image), replay=image.megapixels <= LARGE_MP)
        job = {
            "images": entries,
            "step_timeout": STEP_TIMEOUT,
            "dialog_timeout": DIALOG_TIMEOUT,
            "replay_repeat": REPLAY_REPEAT,
            "plugin_dir": space.path("gimpdir", "plug-ins", "kmeans-quantize"),
        }
        variables = {"KMQ_PREVIEW_LOG": space.path("preview.log")}
        status, results = run_engine_job(gimp3, space, run, IN_GIMP, job, variables, timeout, gui=True)
        run.images = results.get("images", [])
        log = space.host / "preview.log"
        if log.exists():
            run.previews = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        problems = []
        for record in run.images:
            if "traceback" in record:
                problems.append(f"{record['image']}: the in-GIMP script raised:\n{record['traceback']}")
            helper = record.get("helper", {})
            if helper.get("failure"):
                problems.append(f"{record['image']}: the helper: {helper['failure']}")
            if record.get("status") not in (None, "cancel"):
                problems.append(
                    f"{record['image']}: the dialog's run returned {record.get('status')}, not cancel"
                )
        if status != 0 or not results.get("done"):
            problems.append(failure(gimp3, space, status, timeout, results))
        if problems:
            run.failure = "\n".join(problems)
    return run


def previews_of(run: EngineRun, record: dict[str, Any]) -> list[dict[str, Any]]:
    """The log lines that this image's dialog wrote."""
    later = [other["base"] for other in run.images if other.get("base", -1) > record.get("base", -1)]
    end = min(later) if later else len(run.previews)
    return run.previews[record.get("base", 0) : end]


def spread(values: list[float], digits: int = 3) -> str:
    """ "median / max" of ``values`` (or "–")."""
    if not values:
        return "–"
    return f"{statistics.median(values):.{digits}f} / {max(values):.{digits}f}"


def update_latencies(run: EngineRun, record: dict[str, Any]) -> dict[tuple[str, int], list[float]]:
    """(dither, K) -> seconds from committing the value (Tab) to the preview's log line."""
    previews = run.previews
    out: dict[tuple[str, int], list[float]] = {}
    for step in record.get("helper", {}).get("steps", []):
        if "line" not in step or step["line"] >= len(previews) or isinstance(step["step"], dict):
            continue
        entry = previews[step["line"]]
        out.setdefault((entry["dither"], entry["n_colors"]), []).append(step["mtime"] - step["committed"])
    return out


def calls_text(replays: list[dict[str, Any]]) -> str:
    """The number of progress calls per computation in the replays: "n", "min–max" or "–"."""
    counts = [replay["stage_calls"] for replay in replays]
    if not counts:
        return "–"
    return str(min(counts)) if min(counts) == max(counts) else f"{min(counts)}–{max(counts)}"


def where_text(replays: list[dict[str, Any]]) -> str:
    """The two progress calls (stage and fraction; start and end of the computation) around the
    longest stretch, the pair seen most often in the replays."""
    pairs = [
        " → ".join(replay["longest_gap_between"]) for replay in replays if "longest_gap_between" in replay
    ]
    return "–" if not pairs else max(set(pairs), key=pairs.count)


def table_lines(runs: dict[str, EngineRun], image_name: str) -> list[str]:
    """The per engine / dithering / K table of one image."""
    lines = [
        "| engine | dithering | K | updates | computation s (median / max) | longest pause s, plug-in's "
        "measure (median / max) | longest stretch between progress calls incl. tail s, replay (median / max) "
        "| tail s, replay (median / max) | progress calls, replay | longest stretch between (replay, "
        "most often) | Tab to preview shown s (median / max) | pause ≤ 0.3 s? |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for engine in ENGINE_ORDER:
        run = runs.get(engine)
        if run is None:
            continue
        record = next((r for r in run.images if r["image"] == image_name), None)
        if record is None:
            continue
        previews = previews_of(run, record)
        latencies = update_latencies(run, record)
        replays = record.get("replay", [])
        settings = sorted(
            {(entry["dither"], entry["n_colors"]) for entry in previews},
            key=lambda s: (s[0] != "floyd-steinberg", s[1]),
        )
        for dither, k in settings:
            chosen = [e for e in previews if e["dither"] == dither and e["n_colors"] == k]
            again = [r for r in replays if r["dither"] == dither and r["n_colors"] == k]
            pauses = [e["longest_pause"] for e in chosen]
            gaps = [r["longest_gap"] for r in again]
            verdict = "yes" if max(pauses) <= PAUSE_LIMIT else "**NO**"
            if gaps:
                verdict += "; a change noticed within 0.3 s: " + ("yes" if max(gaps) <= PAUSE_LIMIT else "no")
            lines.append(
                f"| {engine} | {dither} | {k} | {len(chosen)} | {spread([e['seconds'] for e in chosen])} "
                f"| {spread(pauses)} | {spread(gaps)} | {spread([r['tail'] for r in again])} "
                f"| {calls_text(again)} | {where_text(again)} "
                f"| {spread(latencies.get((dither, k), []))} | {verdict} |"
            )
    return lines


def first_preview_lines(runs: dict[str, EngineRun]) -> list[str]:
    """Per engine and image: from the procedure call to the dialog and to the first preview."""
    lines = [
        "| engine | image | size | call → dialog visible s | call → first preview s | its computation s "
        "| call → first preview minus computation s | first preview's settings |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for engine in ENGINE_ORDER:
        run = runs.get(engine)
        if run is None:
            continue
        for record in run.images:
            helper = record.get("helper", {})
            first = helper.get("first")
            dialog = helper.get("dialog_seen")
            if first is None or first["line"] >= len(run.previews):
                lines.append(f"| {engine} | {record['image']} | – | – | not seen | – | – | – |")
                continue
            entry = run.previews[first["line"]]
            total = first["mtime"] - record["called"]
            visible = "–" if dialog is None else f"{dialog - record['called']:.2f}"
            lines.append(
                f"| {engine} | {record['image']} | {record.get('size', '')} | {visible} | {total:.2f} "
                f"| {entry['seconds']:.2f} | {total - entry['seconds']:.2f} "
                f"| K {entry['n_colors']}, {entry['color_space']}, {entry['dither']}, preview "
                f"{entry['size'][0]}x{entry['size'][1]} |"
            )
    return lines


def step_text(step: Any) -> str:
    if isinstance(step, dict):
        first, second = step["restart"]
        return f"{first} then {second} {step['after']:g} s later"
    return str(step)


def restart_lines(runs: dict[str, EngineRun]) -> list[str]:
    """One line per restart step: was the interrupted K's preview logged, and how long until the
    new K's preview was shown."""
    lines = []
    for engine in ENGINE_ORDER:
        run = runs.get(engine)
        if run is None:
            continue
        for record in run.images:
            for step in record.get("helper", {}).get("steps", []):
                if not isinstance(step["step"], dict):
                    continue
                first, second = step["step"]["restart"]
                if "line" not in step:
                    lines.append(
                        f"- {engine}, {record['image']}: {step_text(step['step'])}: {step.get('failure')}"
                    )
                    continue
                between = step.get("between", [])
                restarted = first not in between
                entry = run.previews[step["line"]]
                lines.append(
                    f"- {engine}, {record['image']} ({entry['dither']}): K = {first}, then K = {second} "
                    f"{step['step']['after']:g} s after its Tab: "
                    + (
                        f"no K = {first} preview was logged (the computation restarted)"
                        if restarted
                        else f"**a K = {first} preview was logged before K = {second}'s** (not restarted)"
                    )
                    + f"; Tab ({second}) to its preview shown {step['mtime'] - step['committed']:.2f} s "
                    f"(its computation {entry['seconds']:.2f} s)"
                )
    return lines


def verdict_lines(runs: dict[str, EngineRun]) -> list[str]:
    """One line per engine and K (all images and dithering together): longest pause ≤ 0.3 s?"""
    lines = []
    for engine in ENGINE_ORDER:
        run = runs.get(engine)
        if run is None:
            continue
        ks = sorted({entry["n_colors"] for entry in run.previews})
        for k in ks:
            pauses = [entry["longest_pause"] for entry in run.previews if entry["n_colors"] == k]
            gaps = [
                replay["longest_gap"]
                for record in run.images
                for replay in record.get("replay", [])
                if replay["n_colors"] == k
            ]
            worst = max(pauses)
            line = (
                f"- {engine}, K = {k}: longest pause (plug-in's measure) max {worst:.3f} s over "
                f"{len(pauses)} updates: {'≤ 0.3 s, PASS' if worst <= PAUSE_LIMIT else '**> 0.3 s, FAIL**'}"
            )
            if gaps:
                worst_gap = max(gaps)
                line += (
                    f"; a changed setting is noticed within {worst_gap:.3f} s at most (replay, "
                    f"{len(gaps)} runs)"
                )
            lines.append(line)
    return lines


def gimp_lines(gimp3: Gimp3, runs: dict[str, EngineRun]) -> list[str]:
    facts = next((run.facts for run in runs.values() if run.facts), {})
    lines = [f"- GIMP: {gimp3.describe()}, with its windows on Xvfb (`gimp-3.x -n -s -d -f`, python-fu-eval)"]
    if facts:
        lines.append(
            f"- GIMP {facts['gimp_version']}, {facts['num_processors']} threads (num-processors); "
            f"GIMP's Python {facts['python_version']} ({facts['python_executable']})"
        )
    for engine, run in runs.items():
        lines.append(
            engine_line(
                engine, run.facts, f"{run.load_text()}{'; **failed** (see below)' if run.failure else ''}"
            )
        )
    return lines


def odd_lines(runs: dict[str, EngineRun]) -> list[str]:
    """Things worth a look: skipped log lines (an extra preview), escapes, restarts."""
    lines = []
    for engine, run in runs.items():
        for record in run.images:
            helper = record.get("helper", {})
            extra = [step for step in helper.get("steps", []) if step.get("skipped")]
            for step in extra:
                lines.append(
                    f"- {engine}, {record['image']}: after typing {step_text(step['step'])}, "
                    f"{step['skipped']} other preview(s) were logged before the expected one"
                )
            if helper.get("escape"):
                lines.append(
                    f"- {engine}, {record['image']}: Cancel (Alt+C) did not close the dialog; Escape did"
                )
    return lines


def report(
    gimp3: Gimp3,
    images: list[LoadedImage],
    runs: dict[str, EngineRun],
    load_at_start: str,
    partial: str | None,
) -> str:
    lines = ["# The GIMP dialog's live preview: update times and freezes (issue 12)", ""]
    if partial:
        lines += [f"**{partial}**", ""]
    lines += [
        "Host (starts GIMP, builds the images):",
        "",
        *machine_facts(load_at_start),
        *gimp_lines(gimp3, runs),
        "- the machine has 2 cores and other jobs may run at the same time: see the load averages; "
        "the engines ran in separate GIMP starts, numpy-free first",
        "",
        "## Did the dialog freeze for more than 0.3 s per update?",
        "",
        *verdict_lines(runs),
        "",
        '"Longest pause" is the plug-in\'s own measure (`longest_pause` in the `KMQ_PREVIEW_LOG` '
        "line): the preview is computed in a worker thread, and a 10 ms timer in the dialog's main "
        "loop notes the longest gap between its runs while it is: how long the dialog went without "
        "running a Python callback. The replay columns run the same computation on the same "
        "360x240 copy outside the dialog, in GIMP's Python with the plug-in's own engine classes, "
        f"{REPLAY_REPEAT} times per setting, and give the longest stretch between two progress "
        "calls (the end of the computation included): that is how late the worker notices a changed "
        "setting and restarts, not a freeze of the dialog.",
        "",
    ]
    for image in images:
        height, width, _ = image.pixels.shape
        lines += [f"## {image.name} ({width}x{height}): per update", ""]
        lines += table_lines(runs, image.name)
        lines.append("")
    lines += [
        "Updates: previews logged in the dialog with that setting (the first preview included). "
        "Computation: the log's `seconds` (`engine.quantize` of the 360x240 copy). Tab to preview "
        "shown: from the helper's Tab (which commits the typed K) to the log file's modification "
        "time (the line is written just after the preview is drawn): the 150 ms debounce, the "
        "computation and the drawing.",
        "",
        "## From the procedure call to the first preview",
        "",
        *first_preview_lines(runs),
        "",
        "Call: `procedure.run(config)` (INTERACTIVE) in GIMP's python-fu-eval; dialog visible: when "
        "`xdotool search --onlyvisible` first finds it (polled every 50 ms); first preview: the log "
        "file's modification time. All wall-clock times (`time.time()`) inside GIMP's root. The "
        "call includes starting the plug-in's Python, reading the layer scaled to the preview's "
        "size (before the dialog shows) and the 150 ms debounce.",
        "",
        "What was typed (helper, xdotool): after the first preview, "
        + ", ".join(map(step_text, FULL_STEPS))
        + f" on images up to {LARGE_MP:g} MP (dither-none: Alt+D, Home: the Dithering choice None), "
        + ", ".join(map(step_text, LARGE_STEPS))
        + " on larger ones; each step only after the previous "
        "step's preview was logged; then Cancel (Alt+C). Other settings: the plug-in's defaults "
        "(lab, k-means++, seed 0, max 300 iterations, Floyd-Steinberg until set to None).",
    ]
    lines += [
        "",
        "## A change during a computation",
        "",
        *restart_lines(runs),
        "",
        "The restart is checked from the log only: the dialog logs finished previews, so a K = 256 "
        "line between the two means that its computation ran to the end instead of restarting. "
        "The new K's latency includes waiting for the running computation's next progress call "
        "(the change is seen only there).",
    ]
    odd = odd_lines(runs)
    if odd:
        lines += ["", "## Odd", "", *odd]
    failures = [f"### {engine} run\n\n```\n{run.failure}\n```" for engine, run in runs.items() if run.failure]
    if failures:
        lines += ["", "## Failures", "", *failures]
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
        "--gimp-version",
        choices=list(RELEASES),
        default=None,
        help="GIMP release to run (default $KMQ_GIMP_VERSION, else 3.0)",
    )
    parser.add_argument(
        "--engines",
        nargs="+",
        choices=list(ENGINE_ORDER),
        default=list(ENGINE_ORDER),
        help="engines (default both)",
    )
    parser.add_argument("--timeout", type=float, default=None, help="seconds per GIMP start")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "gimp_preview.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the engines in GIMP, print the report and write it to ``--out``; 1 if a run failed."""
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
    partial = None
    if args.images != DEFAULT_IMAGES or args.engines != list(ENGINE_ORDER):
        partial = (
            f"Partial run (images {' '.join(args.images)}, engines {' '.join(args.engines)}), "
            "not the full benchmark."
        )
    steps = sum(len(steps_for(image)) + 1 for image in images)
    timeout = args.timeout if args.timeout is not None else TIMEOUT_BASE + TIMEOUT_PER_STEP * steps
    runs: dict[str, EngineRun] = {}
    for engine in [engine for engine in ENGINE_ORDER if engine in args.engines]:
        print(
            f"{engine}: one GIMP start with windows on Xvfb (timeout {timeout:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
        runs[engine] = run_engine(gimp3, engine, images, timeout)
        write_atomic(args.out, report(gimp3, images, runs, load_at_start, partial))
    text = report(gimp3, images, runs, load_at_start, partial)
    write_atomic(args.out, text)
    print(text)
    return 1 if any(run.failure for run in runs.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
