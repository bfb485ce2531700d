"""GIMP 3's Image > Mode > Indexed ("optimum palette", no dithering) as a benchmark peer.

:func:`gimp_indexed` starts GIMP 3 once (headless, through ``tests/gimp/gimp_harness.py``: the
host's ``gimp-console-3.0`` or the cached Debian 13 root) and, inside it, runs
``gimp_indexed_in_gimp.py`` on every image and K:
``image.convert_indexed(Gimp.ConvertDitherType.NONE, Gimp.ConvertPaletteType.GENERATE, K, False,
True, "")`` on a fresh ``image.duplicate()`` of the RGB image, ``repeat`` times, timing only that
call with ``time.perf_counter`` inside GIMP. The last conversion is turned back into RGB
(``image.convert_rgb()``) and its pixels are returned.

GIMP runs with its defaults: as many threads as cores (``num-processors``) and a tile cache of
half the physical memory (``tile-cache-size``), which holds several 24 MP images without touching
GIMP's swap file, so no gimprc is written. Both values are reported in ``details``.

Run from the repository root for a self-check (scikit-learn's china.jpg, K = 16 and 64)::

    python benchmarks/gimp_indexed.py
    python benchmarks/gimp_indexed.py --images china.jpg flower.jpg china_12mp -k 16 64 256 --repeat 3
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

BENCHMARKS = Path(__file__).resolve().parent.parent
REPO = BENCHMARKS.parent
IN_GIMP = BENCHMARKS / "gimp_indexed_in_gimp.py"
sys.path.insert(0, str(REPO / "tests" / "gimp"))
from gimp_harness import ENGINES, NO_NUMPY, Gimp3, Workspace, find_gimp3  # noqa: E402

from .data import LoadedImage  # noqa: E402

#: Seconds allowed for starting and stopping GIMP, and per megapixel per conversion (GIMP 3.0.4
#: converts a 12 MP photo in about 5 s on 2 cores here; the allowance is generous).
TIMEOUT_BASE = 300.0

TIMEOUT_PER_MEGAPIXEL = 10.0

#: Characters of GIMP's stderr quoted in a failure reason.
STDERR_TAIL = 3000

Result = dict[tuple[str, int], tuple[np.ndarray, list[float]]]


#: The plug-in's engines in the order the GIMP benchmarks run them (numpy-free first), and what
#: each GIMP start adds to the environment besides hiding numpy for the numpy-free one
#: (``gimp_harness.ENGINES``): ``KMQ_ENGINE=numpy`` makes a missing numpy fail instead of
#: falling back silently.
ENGINE_ORDER = ("numpy-free", "numpy")
ENGINE_VARIABLES: dict[str, dict[str, str]] = {"numpy-free": {}, "numpy": {"KMQ_ENGINE": "numpy"}}


def engine_line(engine: str, facts: dict[str, Any], tail_text: str) -> str:
    """The report's line about one engine's GIMP start: its numpy, its variables, then ``tail_text``."""
    numpy_text = (
        "numpy hidden (stand-in package on PYTHONPATH)"
        if facts and facts.get("numpy") is None
        else f"numpy {facts.get('numpy')}"
    )
    variables = ", ".join(f"{key}={value}" for key, value in ENGINE_VARIABLES[engine].items())
    return f"- {engine} run: {numpy_text}{'; ' + variables if variables else ''}; {tail_text}"


@dataclass
class GimpStart:
    """One GIMP start with one engine: GIMP's facts as the in-GIMP script reported them, the wall
    time and the machine's load around it, and what went wrong, if anything."""

    engine: str
    facts: dict[str, Any] = field(default_factory=dict)
    failure: str | None = None
    wall_seconds: float | None = None
    load_before: str = ""
    load_after: str = ""

    def load_text(self) -> str:
        """The report's words on the load around this start and its wall time."""
        wall = "–" if self.wall_seconds is None else f"{self.wall_seconds:.0f} s"
        return (
            f"load average (1/5/15 min) before {self.load_before}, after {self.load_after}; "
            f"GIMP start to exit {wall}"
        )


def write_engine_inputs(space: Workspace, images: list[LoadedImage]) -> list[dict[str, Any]]:
    """Write the stand-in numpy package (hides numpy from the numpy-free engine's GIMP start) and
    every image's raw RGB bytes into ``space``; return each image's job entry (name, file, size)."""
    (space.host / "in").mkdir()
    stand_in = space.host / "no-numpy" / "numpy" / "__init__.py"
    stand_in.parent.mkdir(parents=True)
    stand_in.write_text(NO_NUMPY)
    entries = []
    for number, image in enumerate(images):
        (space.host / "in" / f"{number}.raw").write_bytes(np.ascontiguousarray(image.pixels).tobytes())
        height, width, _ = image.pixels.shape
        entries.append({"name": image.name, "file": f"in/{number}.raw", "width": width, "height": height})
    return entries


def run_engine_job(
    gimp3: Gimp3,
    space: Workspace,
    start: GimpStart,
    script: Path,
    job: dict[str, Any],
    variables: dict[str, str],
    timeout: float,
    gui: bool = False,
) -> tuple[int | None, dict[str, Any]]:
    """Run the in-GIMP ``script`` with its ``job.json`` and extra environment ``variables`` in
    ``space``, with ``start.engine``; fill ``start`` (load, wall time, GIMP's facts).

    Returns GIMP's exit status and the script's ``results.json`` ({} if it wrote none).
    """
    from .measure import load_average  # here: measure imports this module (gimp_indexed)

    (space.host / "job.json").write_text(json.dumps(job, indent=1))
    shutil.copy(script, space.host / script.name)
    env = {
        "KMQ_GIMP_BENCH_DIR": space.inside,
        "KMQ_BENCH_ENGINE": start.engine,
        **variables,
        **{key: value.format(workspace=space.inside) for key, value in ENGINES[start.engine].items()},
        **ENGINE_VARIABLES[start.engine],
    }
    start.load_before = load_average()
    status, start.wall_seconds = run_gimp(gimp3, space, space.path(script.name), env, timeout, gui=gui)
    start.load_after = load_average()
    results_file = space.host / "results.json"
    results: dict[str, Any] = json.loads(results_file.read_text()) if results_file.exists() else {}
    start.facts = results.get("facts", {})
    return status, results


def tail(path: Path, size: int = STDERR_TAIL) -> str:
    """The last ``size`` characters of a text file ("" if it is missing).

    Parameters
    ----------
    path : Path
        The file (GIMP's captured stderr, say).
    size : int, optional
        How many characters to keep (default :data:`STDERR_TAIL`).

    Returns
    -------
    str
    """
    try:
        with path.open("rb") as file:
            file.seek(0, os.SEEK_END)
            file.seek(max(0, file.tell() - size))
            return file.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _default_timeout(images: dict[str, np.ndarray], ks: list[int], repeat: int) -> float:
    megapixels: float = sum(image.shape[0] * image.shape[1] for image in images.values()) / 1e6
    return TIMEOUT_BASE + TIMEOUT_PER_MEGAPIXEL * megapixels * len(ks) * (repeat + 1)


def run_gimp(
    gimp3: Gimp3, space: Workspace, script: str, env: dict[str, str], timeout: float, gui: bool = False
) -> tuple[int | None, float]:
    """Run a Python file in GIMP's python-fu-eval, headless (or with ``gui`` with its windows on
    Xvfb), and wait for it.

    GIMP's stdout and stderr go to ``gimp.stdout`` and ``gimp.stderr`` in the workspace. On
    timeout the whole process group that was started (GIMP, its plug-ins, Xvfb and any helper
    the script started) is killed.

    Parameters
    ----------
    gimp3 : Gimp3
        How to start GIMP (from :func:`gimp_harness.find_gimp3`).
    space : Workspace
        The workspace GIMP runs in (from :meth:`Gimp3.workspace`).
    script : str
        The file to run, a path inside the workspace as GIMP sees it (``space.path(name)``).
    env : dict of str to str
        Extra environment variables for GIMP (and so for every plug-in it starts).
    timeout : float
        Seconds to wait before killing GIMP.
    gui : bool, optional
        GIMP with its windows on a virtual screen (:meth:`Gimp3.batch_command`).

    Returns
    -------
    tuple of (int or None, float)
        GIMP's exit status (None on timeout) and the wall seconds of the run.
    """
    command = gimp3.batch_command(space, script, env, gui=gui)
    start = time.perf_counter()
    with (space.host / "gimp.stdout").open("wb") as out, (space.host / "gimp.stderr").open("wb") as err:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True
        )
        try:
            status: int | None = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the whole group we started
            process.wait()
            status = None
    return status, time.perf_counter() - start


def failure(
    gimp3: Gimp3, space: Workspace, status: int | None, timeout: float, results: dict[str, Any]
) -> str:
    """Why a GIMP run that did not finish its in-GIMP script failed, with the tail of GIMP's stderr.

    Parameters
    ----------
    gimp3, space
        The GIMP and workspace of the run.
    status : int or None
        GIMP's exit status (None: killed after ``timeout`` seconds).
    timeout : float
    results : dict
        What the in-GIMP script wrote (its ``"traceback"`` if it raised).

    Returns
    -------
    str
    """
    how = f"timed out after {timeout:.0f} s" if status is None else f"exited with status {status}"
    reason = f"GIMP 3 ({gimp3.describe()}) {how}"
    if "traceback" in results:
        reason += f"; the in-GIMP script raised:\n{results['traceback']}"
    elif status == 0:
        reason += " but the in-GIMP script did not finish"
    return f"{reason}\n--- GIMP stderr (tail)\n{tail(space.host / 'gimp.stderr')}"


def gimp_indexed(
    images: dict[str, np.ndarray],
    ks: list[int],
    repeat: int,
    *,
    details: dict[str, Any] | None = None,
    timeout: float | None = None,
) -> Result | str:
    """Quantize every image to every K with GIMP 3's Indexed mode, timed inside GIMP.

    One GIMP start does all the work. For each image and K, GIMP converts a fresh duplicate of
    the RGB image ``repeat`` times with the optimum (generated) palette of K colours, no
    dithering, no alpha dithering and "remove unused colours" (which GIMP ignores for a
    generated palette, whose colours are all used); only the ``convert_indexed`` call is timed.
    The last result is converted back to RGB and returned.

    Parameters
    ----------
    images : dict of str to ndarray of uint8, shape (H, W, 3)
        The RGB images, by name.
    ks : list of int
        Palette sizes, each 1 to 256 (what GIMP 3.0 accepts; 0 or 257 makes it fail).
    repeat : int
        Conversions per image and K (at least 1).
    details : dict, optional
        If given, filled with what the run found: ``"gimp"`` (how GIMP ran), ``"facts"`` (GIMP
        version, thread count, gimprc tile cache size, ...), ``"palette_colors"`` (per
        (name, K): colours in GIMP's palette), ``"core_peak_rss_bytes"`` and
        ``"plugin_peak_rss_bytes"`` (peak resident memory of GIMP's core process and of the
        plug-in process that fed it the images), ``"wall_seconds"`` (the whole GIMP run).
    timeout : float, optional
        Seconds allowed for the whole GIMP run; by default 300 s plus 10 s per megapixel per
        conversion (with one extra conversion per K for loading and reading).

    Returns
    -------
    dict or str
        ``{(name, K): (quantized uint8 (H, W, 3) image, [seconds of each conversion])}``; or a
        string saying why GIMP 3 could not run, or how its run failed (with the tail of its
        stderr).

    Raises
    ------
    ValueError
        If an image is not uint8 RGB, a K is outside 1..256 or ``repeat`` is below 1.
    """
    for name, image in images.items():
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"image {name!r}: expected uint8 (H, W, 3), got {image.dtype} {image.shape}")
    if any(not 1 <= k <= 256 for k in ks):
        raise ValueError(f"every K must be 1..256 (GIMP's limits), got {ks}")
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    gimp3 = find_gimp3()
    if isinstance(gimp3, str):
        return f"GIMP 3 cannot run here: {gimp3}"
    if timeout is None:
        timeout = _default_timeout(images, ks, repeat)
    names = list(images)
    with gimp3.workspace() as space:
        (space.host / "in").mkdir()
        (space.host / "out").mkdir()
        entries = []
        for number, name in enumerate(names):
            np.save(space.host / "in" / f"{number}.npy", np.ascontiguousarray(images[name]))
            entries.append({"name": name, "file": f"in/{number}.npy"})
        job = {"images": entries, "ks": [int(k) for k in ks], "repeat": int(repeat)}
        (space.host / "job.json").write_text(json.dumps(job, indent=1))
        shutil.copy(IN_GIMP, space.host / IN_GIMP.name)

        env = {"KMQ_GIMP_BENCH_DIR": space.inside}
        status, wall = run_gimp(gimp3, space, space.path(IN_GIMP.name), env, timeout)
        results_file = space.host / "results.json"
        results = json.loads(results_file.read_text()) if results_file.exists() else {}
        if status != 0 or not results.get("done"):
            return failure(gimp3, space, status, timeout, results)

        output: Result = {}
        palette_colors: dict[tuple[str, int], int] = {}
        for run in results["runs"]:
            key = (names[run["image"]], run["k"])
            output[key] = (np.load(space.host / run["file"]), [float(s) for s in run["seconds"]])
            palette_colors[key] = run["palette_colors"]
    if details is not None:
        details.update(
            gimp=gimp3.describe(),
            facts=results["facts"],
            palette_colors=palette_colors,
            core_peak_rss_bytes=results.get("core_peak_rss_bytes"),
            plugin_peak_rss_bytes=results.get("plugin_peak_rss_bytes"),
            wall_seconds=wall,
        )
    return output
