"""Run inside GIMP 3 with its windows (on Xvfb) by ``bench_gimp_preview.py``: the dialog's preview.

GIMP's python-fu-eval provides the globals Gimp, Gegl, GObject, GLib and sys. This script imports
no numpy: it runs once with GIMP's numpy and once with numpy hidden from GIMP's Python (then the
plug-in uses its numpy-free engine). GIMP runs with ``$KMQ_PREVIEW_LOG`` set, so the plug-in
appends one JSON line per finished preview to that file (settings, ``seconds``: the computation,
``longest_pause``: the longest gap between runs of a 10 ms timer in the dialog's main loop while
the preview was computed in its worker thread).

The job is ``job.json`` in ``$KMQ_GIMP_BENCH_DIR``::

    {"images": [{"name": "china.jpg", "file": "in/0.raw", "width": 640, "height": 427,
                 "steps": [64, 8, "dither-none", 256], "replay": true}, ...],
     "step_timeout": 180, "replay_repeat": 3, "plugin_dir": "/.../plug-ins/kmeans-quantize"}

For each image a one-layer RGB image is built from its raw ``R'G'B' u8`` bytes and the filter is
called INTERACTIVE (its dialog opens; the call returns when the dialog closes). Before the call a
helper process (:data:`HELPER`, GIMP's ``python3``) is started; it drives the dialog with xdotool
as a user would and records wall-clock times (``time.time()``, the clock this script uses too):

1. when the dialog window is visible; when the first preview was logged (the log file's mtime);
2. per step: a K is typed into "Number of colors" (Alt+N, Ctrl+A, the digits, Tab to commit it)
   and the helper waits (bounded) for a new log line with that ``n_colors``; ``"dither-none"``
   picks the first "Dithering" choice (Alt+D, Home) and waits for a line with ``dither`` none;
   ``{"restart": [K1, K2], "after": s}`` types K1, and s seconds later (its computation under
   way) K2, then waits for K2's line and records the K of any line logged in between (a K1 line
   means the computation was not restarted);
3. Cancel (Alt+C; Escape if the dialog is still open 10 s later).

With ``replay``, the preview's computation is then repeated outside the dialog, in this process,
with the plug-in's own engine classes (its source executed without its last line,
``Gimp.main``): the same proxy (the bytes the dialog read and logged, ``<log>-<n>-proxy.raw``),
the same options as the dialog's previews, and a progress object that records the time of every
``stage`` call. Its ``gaps`` are the times between consecutive calls *including* the stretch
from the last call to the end of ``quantize``: how late the dialog's worker notices a changed
setting (it checks at every call).

``results.json`` is rewritten after every image. A failure outside a dialog records the
traceback and re-raises, so that GIMP exits with status 64.
"""

# ruff: noqa: F821  (Gimp, Gegl are globals given by python-fu-eval)

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from typing import Any

HERE = os.environ["KMQ_GIMP_BENCH_DIR"]
ENGINE = os.environ["KMQ_BENCH_ENGINE"]
LOG = os.environ["KMQ_PREVIEW_LOG"]
PROCEDURE = "plug-in-kmeans-quantize"
SOURCE_FORMAT = "R'G'B' u8"

#: The helper (run with GIMP's python3): drives one dialog, writes what it saw to argv[2].
HELPER = r'''
import json, os, subprocess, sys, time

job = json.load(open(sys.argv[1]))
log, base, timeout = job["log"], job["base"], job["step_timeout"]
out = {"steps": [], "failure": None}


def save():
    with open(sys.argv[2] + ".partial", "w") as file:
        json.dump(out, file)
    os.replace(sys.argv[2] + ".partial", sys.argv[2])


def lines():
    try:
        with open(log) as file:
            return [json.loads(line) for line in file.read().splitlines() if line.strip()]
    except (OSError, ValueError):
        return []


def xdotool(*args):
    subprocess.run(["xdotool", *args], check=False, timeout=30)


def visible():
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^K-Means Quantize$"],
                           capture_output=True, text=True, timeout=30).stdout.split()
    return found[0] if found else None


def wait_line(after, want, limit):
    """(index, time seen, log mtime) of the first line after index ``after`` that ``want`` accepts."""
    end = time.time() + limit
    while time.time() < end:
        entries = lines()
        for index in range(after, len(entries)):
            if want(entries[index]):
                return index, time.time(), os.stat(log).st_mtime
        time.sleep(0.02)
    return None


def run():
    end = time.time() + job["dialog_timeout"]
    dialog = None
    while dialog is None and time.time() < end:
        dialog = visible()
        if dialog is None:
            time.sleep(0.05)
    if dialog is None:
        out["failure"] = "the dialog did not appear"
        return None
    out["dialog_seen"] = time.time()
    save()
    first = wait_line(base, lambda entry: True, job["dialog_timeout"])
    if first is None:
        out["failure"] = "no first preview"
        return dialog
    out["first"] = {"line": first[0], "seen": first[1], "mtime": first[2]}
    save()
    last = first[0]
    for step in job["steps"]:
        xdotool("windowfocus", "--sync", dialog)
        typed = time.time()
        if step == "dither-none":
            xdotool("key", "alt+d", "key", "Home")
            want = lambda entry: entry["dither"] == "none"
        elif isinstance(step, dict):  # a change while a computation is under way
            first_k, second_k = step["restart"]
            xdotool("key", "alt+n", "key", "ctrl+a", "type", str(first_k))
            xdotool("key", "Tab")
            time.sleep(step["after"])
            xdotool("key", "alt+n", "key", "ctrl+a", "type", str(second_k))
            typed = time.time()
            xdotool("key", "Tab")
            want = lambda entry, k=second_k: entry["n_colors"] == k
        else:
            xdotool("key", "alt+n", "key", "ctrl+a", "type", str(step))
            typed = time.time()
            xdotool("key", "Tab")
            want = lambda entry, k=step: entry["n_colors"] == k
        committed = time.time()
        found = wait_line(last + 1, want, timeout)
        record = {"step": step, "typed": typed, "committed": committed}
        if found is None:
            record["failure"] = f"no preview for {step} within {timeout} s"
            out["steps"].append(record)
            out["failure"] = record["failure"]
            save()
            return dialog
        record.update(line=found[0], seen=found[1], mtime=found[2], skipped=found[0] - last - 1)
        record["between"] = [entry["n_colors"] for entry in lines()[last + 1 : found[0]]]
        out["steps"].append(record)
        save()
        last = found[0]
    return dialog


dialog = None
try:
    dialog = run()
finally:
    if dialog is not None:
        xdotool("windowfocus", "--sync", dialog)
        xdotool("key", "alt+c")
        out["cancelled"] = time.time()
        for _ in range(100):
            if visible() is None:
                break
            time.sleep(0.1)
        else:
            xdotool("key", "Escape", "sleep", "0.5", "key", "alt+c")
            out["escape"] = True
    else:
        out["cancelled"] = None
    save()
'''


def numpy_here() -> str | None:
    """numpy's version if this Python can import it, else None."""
    try:
        import numpy  # the point is to see whether it imports
    except ImportError:
        return None
    return str(numpy.__version__)


def gimp_facts() -> dict[str, Any]:
    """GIMP's version and thread count, and the Python the plug-ins run in; raises if numpy is
    not as the engine needs it."""
    numpy_version = numpy_here()
    if ENGINE == "numpy-free" and numpy_version is not None:
        raise RuntimeError(f"numpy {numpy_version} imports, but it should be hidden for the numpy-free run")
    if ENGINE == "numpy" and numpy_version is None:
        raise RuntimeError("numpy does not import in GIMP's Python, so the numpy engine cannot run")
    return {
        "gimp_version": Gimp.version(),
        "num_processors": Gimp.get_num_processors(),
        "python_version": sys.version.split()[0],
        "python_executable": sys.executable,
        "numpy": numpy_version,
    }


def new_rgb_image(data: bytes, width: int, height: int) -> Any:
    """A GIMP RGB image (8-bit, sRGB) with one layer holding the ``R'G'B' u8`` bytes ``data``."""
    image = Gimp.Image.new(width, height, Gimp.ImageBaseType.RGB)
    layer = Gimp.Layer.new(
        image, "photo", width, height, Gimp.ImageType.RGB_IMAGE, 100.0, Gimp.LayerMode.NORMAL
    )
    image.insert_layer(layer, None, 0)
    buffer = layer.get_buffer()
    buffer.set(Gegl.Rectangle.new(0, 0, width, height), SOURCE_FORMAT, data)
    buffer.flush()
    return image


def log_lines() -> int:
    """How many previews the plug-in has logged so far."""
    if not os.path.exists(LOG):
        return 0
    with open(LOG) as file:
        return sum(1 for line in file if line.strip())


def write(results: dict[str, Any]) -> None:
    """Replace ``results.json`` atomically."""
    partial = os.path.join(HERE, "results.json.partial")
    with open(partial, "w") as out:
        json.dump(results, out, indent=1)
    os.replace(partial, os.path.join(HERE, "results.json"))


def dialog_run(number: int, entry: dict[str, Any], image: Any, job: dict[str, Any]) -> dict[str, Any]:
    """Open the dialog on ``image``'s layer while the helper drives it; the helper's record,
    the call's wall-clock start and end, and the run's status."""
    layer = image.get_layers()[0]
    base = log_lines()
    helper_job = os.path.join(HERE, f"helper-{number}.json")
    helper_out = os.path.join(HERE, f"helper-{number}-out.json")
    with open(helper_job, "w") as file:
        json.dump(
            {
                "log": LOG,
                "base": base,
                "steps": entry["steps"],
                "step_timeout": job["step_timeout"],
                "dialog_timeout": job["dialog_timeout"],
            },
            file,
        )
    helper_file = os.path.join(HERE, "helper.py")
    with open(helper_file, "w") as file:
        file.write(HELPER)
    procedure = Gimp.get_pdb().lookup_procedure(PROCEDURE)
    if procedure is None:
        raise RuntimeError(f"GIMP has no procedure {PROCEDURE}: the plug-in was not installed or not queried")
    config = procedure.create_config()
    config.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
    config.set_property("image", image)
    config.set_core_object_array("drawables", [layer])
    helper = subprocess.Popen(["python3", helper_file, helper_job, helper_out])
    called = time.time()
    status = procedure.run(config).index(0).value_nick  # returns when the dialog closes
    returned = time.time()
    try:
        helper_exit = helper.wait(timeout=60)
    except subprocess.TimeoutExpired:
        helper.kill()
        helper_exit = None
    record: dict[str, Any] = {"called": called, "returned": returned, "status": status, "base": base}
    record["helper_exit"] = helper_exit
    if os.path.exists(helper_out):
        with open(helper_out) as file:
            record["helper"] = json.load(file)
    else:
        record["helper"] = {"failure": "the helper wrote nothing"}
    return record


class Timeline:
    """A progress object as the plug-in's engines expect, recording when each stage is called."""

    def __init__(self) -> None:
        self.layer = 0
        self.calls: list[float] = []
        self.names: list[str] = []

    def stage(self, name: str, fraction: float = 0.0) -> None:
        self.calls.append(time.perf_counter())
        self.names.append(f"{name} {fraction:.2f}")


def plugin_namespace(plugin_dir: str) -> dict[str, Any]:
    """The plug-in's module namespace: its source executed without its last line (Gimp.main)."""
    source_file = os.path.join(plugin_dir, "kmeans-quantize.py")
    with open(source_file) as file:
        source = file.read()
    marker = "\nGimp.main("
    if marker not in source:
        raise RuntimeError("the plug-in's source has no Gimp.main( line to leave out")
    if plugin_dir not in sys.path:
        sys.path.insert(0, plugin_dir)
    namespace: dict[str, Any] = {"__name__": "kmeans_quantize_plugin", "__file__": source_file}
    exec(compile(source[: source.rindex(marker)], source_file, "exec"), namespace)
    if namespace["MISSING"] is not None:
        raise RuntimeError(f"the plug-in could not import its engine: {namespace['MISSING']}")
    return namespace


def replay(image: Any, job: dict[str, Any], previews: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The dialog's computations again, outside the dialog, with every stage call timed."""
    plugin = plugin_namespace(job["plugin_dir"])
    layer = image.get_layers()[0]
    if plugin["ENGINE"] == "numpy":
        engine = plugin["NumpyEngine"](image, eight_bit=True)
    else:
        engine = plugin["PureEngine"](image)
    # The dialog's own copy, as it logged it (reading the layer scaled down again from this
    # process gives transparent pixels: GEGL's scaled read of a buffer this process wrote).
    width, height = previews[0]["size"]
    with open(f"{previews[0]['files']}-proxy.raw", "rb") as file:
        raw = file.read()
    if engine.name == "numpy":
        source = plugin["NumpyLayer"](layer, raw, None, width, height, engine.dtype)
    else:
        source = plugin["PureLayer"](layer, plugin["pure_layers"].LayerBytes(raw, width, height, None))
    keys = ("n_colors", "color_space", "init", "seed", "max_iter")
    settings = []
    for entry in previews:
        setting = ({key: entry[key] for key in keys}, entry["dither"])
        if setting not in settings:
            settings.append(setting)
    runs = []
    for options, dither in settings:
        for repeat in range(job["replay_repeat"]):
            progress = Timeline()
            start = time.perf_counter()
            engine.quantize([source], options, dither, False, progress)
            end = time.perf_counter()
            marks = [start, *progress.calls, end]
            gaps = [later - earlier for earlier, later in zip(marks[:-1], marks[1:], strict=True)]
            names = ["start", *progress.names, "end"]
            widest = gaps.index(max(gaps))
            runs.append(
                {
                    **options,
                    "dither": dither,
                    "engine": engine.name,
                    "repeat": repeat,
                    "seconds": end - start,
                    "stage_calls": len(progress.calls),
                    "longest_gap": max(gaps),
                    "longest_gap_without_tail": max(gaps[:-1]) if len(gaps) > 1 else 0.0,
                    "tail": gaps[-1],
                    "longest_gap_between": [names[widest], names[widest + 1]],
                }
            )
    return runs


def read_log() -> list[dict[str, Any]]:
    if not os.path.exists(LOG):
        return []
    with open(LOG) as file:
        return [json.loads(line) for line in file.read().splitlines() if line.strip()]


def main() -> None:
    """Run the job and record everything in ``results.json``."""
    with open(os.path.join(HERE, "job.json")) as job_file:
        job = json.load(job_file)
    results: dict[str, Any] = {"engine": ENGINE, "facts": {}, "images": [], "done": False}
    try:
        results["facts"] = gimp_facts()
        write(results)
        for number, entry in enumerate(job["images"]):
            with open(os.path.join(HERE, entry["file"]), "rb") as raw:
                image = new_rgb_image(raw.read(), entry["width"], entry["height"])
            record: dict[str, Any] = {"image": entry["name"], "size": f"{entry['width']}x{entry['height']}"}
            results["images"].append(record)
            try:
                record.update(dialog_run(number, entry, image, job))
                write(results)
                if entry.get("replay"):
                    previews = read_log()[record["base"] :]
                    record["replay"] = replay(image, job, previews)
            except Exception:
                record["traceback"] = traceback.format_exc()
            finally:
                image.delete()
            write(results)
        results["done"] = True
    except Exception:
        results["traceback"] = traceback.format_exc()
        raise
    finally:
        write(results)


main()
