"""Take real screenshots of the K-Means Quantize plug-in in GIMP 3, for the README.

Usage::

    python docs/make_gimp_screenshot.py [--out-dir docs] [--timeout 300]

Starts GIMP 3 with its windows on a virtual screen (Xvfb), through the test harness in
``tests/gimp/gimp_harness.py`` (a cached Debian 13 root when the host has no GIMP 3), with the
plug-in installed in a throw-away profile. ``docs/gimp_screenshot_in_gimp.py`` runs inside GIMP:
it opens ``examples/sample.png``, calls ``plug-in-kmeans-quantize`` interactively, captures the
dialog and presses OK, then captures the image window with the quantized layer. This script
writes the two captures as ``gimp-dialog.png`` and ``gimp-result.png`` in the output folder
(each written to a temporary file first, then renamed over the old one).

The virtual screen has no window manager, so the captures have no title bars. Takes about
15 s once the GIMP root exists (building it the first time takes a few minutes and needs root).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "gimp"))
from gimp_harness import Gimp3, Workspace, find_gimp3  # noqa: E402

IN_GIMP = HERE / "gimp_screenshot_in_gimp.py"
SAMPLE = REPO / "examples" / "sample.png"

#: The image window: wide enough to show the 640 px sample at 100 % between the docks.
WINDOW_SIZE = (1240, 640)
#: Wide enough for the new layer's name ("Background (K-Means 8)") in the Layers dock.
RIGHT_DOCKS_WIDTH = 360
#: The result capture is scaled down to this width when wider (--max-result-width); 0 keeps it 1:1.
#: Kept 1:1 by default: at 100 % zoom the canvas holds only the palette's colours, so the PNG is
#: small (about 160 KiB) and the dithering crisp; scaled to 1000 px it blurs and triples in size.
MAX_RESULT_WIDTH = 0
#: GIMP's default sessionrc, as the GIMP being run has it (inside its root).
SESSIONRC_TEMPLATE = Path("etc/gimp/3.0/sessionrc")
TAIL = 4000


class ScreenshotError(Exception):
    """The screenshots could not be taken; the message says why (with GIMP's output)."""


def sessionrc(gimp3: Gimp3) -> str | None:
    """GIMP's default window layout with the image window's size and right dock width changed.

    None when the default sessionrc is not where expected or its layout entries are not found
    (the in-GIMP script still resizes the window, only the dock width stays at its default).
    """
    template = (gimp3.root or Path("/")) / SESSIONRC_TEMPLATE
    try:
        text = template.read_text()
    except OSError:
        return None
    width, height = WINDOW_SIZE
    text, sizes = re.subn(
        r'(\(factory-entry "gimp-single-image-window"\)\s*\(position )\d+ \d+(\)\s*\(size )\d+ \d+',
        rf"\g<1>0 0\g<2>{width} {height}",
        text,
    )
    text, docks = re.subn(r'\(right-docks-width "\d+"\)', f'(right-docks-width "{RIGHT_DOCKS_WIDTH}")', text)
    return text if sizes == 1 and docks == 1 else None


def prepare(gimp3: Gimp3, space: Workspace) -> list[str]:
    """Put the sample, the in-GIMP script and the profile's settings into the workspace.

    Returns notes on anything that could not be set up as wanted.
    """
    notes = []
    (space.host / "out").mkdir()
    shutil.copy(SAMPLE, space.host / "sample.png")
    shutil.copy(IN_GIMP, space.host / IN_GIMP.name)
    profile = space.host / "gimpdir"
    profile.mkdir(exist_ok=True)
    layout = sessionrc(gimp3)
    if layout is None:
        notes.append(f"no usable default sessionrc ({SESSIONRC_TEMPLATE}); the docks keep their width")
    else:
        (profile / "sessionrc").write_text(layout)
    return notes


def run_gimp(gimp3: Gimp3, space: Workspace, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run the in-GIMP script in GIMP with windows on Xvfb, killing everything after ``timeout``.

    Like ``Gimp3.batch(..., gui=True)``, but in a process group of its own, so that a GIMP stuck
    on an open dialog is ended together with its Xvfb and plug-ins when time is up.
    """
    env = {
        "KMQ_GIMP_OUT": space.path("out"),
        "KMQ_SAMPLE": space.path("sample.png"),
        "KMQ_WINDOW_SIZE": "{}x{}".format(*WINDOW_SIZE),
    }
    command = gimp3.batch_command(space, space.path(IN_GIMP.name), env, gui=True)
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        stderr += f"\n[make_gimp_screenshot] killed after {timeout:.0f} s"
        return subprocess.CompletedProcess(command, -signal.SIGKILL, stdout, stderr)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def failure(why: str, done: subprocess.CompletedProcess[str], facts: dict[str, Any]) -> ScreenshotError:
    """An error naming ``why``, with what the in-GIMP script reported and the tail of GIMP's output."""
    parts = [why, f"GIMP exit status: {done.returncode}"]
    if facts:
        parts.append("--- results.json\n" + json.dumps(facts, indent=1))
    parts.append(f"--- GIMP stdout (tail)\n{done.stdout[-TAIL:]}")
    parts.append(f"--- GIMP stderr (tail)\n{done.stderr[-TAIL:]}")
    return ScreenshotError("\n".join(parts))


def load_capture(path: Path, what: str) -> Image.Image:
    """A capture as an RGB image; an error if it is missing, unreadable or a single colour."""
    try:
        with Image.open(path) as capture:
            image: Image.Image = capture.convert("RGB")
    except (OSError, ValueError) as error:
        raise ScreenshotError(f"the {what} capture {path.name} is missing or unreadable: {error}") from error
    if image.getcolors(1) is not None:  # None: more than one colour
        raise ScreenshotError(f"the {what} capture {path.name} is a single colour (nothing drawn?)")
    return image


def save_atomically(image: Image.Image, target: Path) -> None:
    """Write ``image`` as an optimised PNG: to a temporary file beside ``target``, then rename."""
    handle, temporary = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=".png", dir=target.parent)
    os.close(handle)
    try:
        image.save(temporary, "PNG", optimize=True)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; these are files to publish
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def take_screenshots(out_dir: Path, timeout: float, max_result_width: int = MAX_RESULT_WIDTH) -> list[Path]:
    """Run GIMP, check what it captured and write the PNGs into ``out_dir``; returns their paths."""
    found = find_gimp3()
    if isinstance(found, str):
        raise ScreenshotError(f"GIMP 3 cannot run here: {found}")
    gimp3 = found
    print(f"GIMP 3: {gimp3.describe()}")
    with gimp3.workspace() as space:
        for note in prepare(gimp3, space):
            print(f"note: {note}")
        start = time.perf_counter()
        done = run_gimp(gimp3, space, timeout)
        print(f"GIMP ran for {time.perf_counter() - start:.1f} s")
        out = space.host / "out"
        results = out / "results.json"
        facts: dict[str, Any] = json.loads(results.read_text()) if results.exists() else {}
        if done.returncode != 0:
            raise failure("GIMP failed.", done, facts)
        if facts.get("status") != "success":
            raise failure(f"the plug-in did not run through (status {facts.get('status')!r}).", done, facts)
        if facts.get("helper-exit") != 0:
            raise failure("the dialog was not captured and accepted.", done, facts)
        try:
            dialog = load_capture(out / "dialog.png", "dialog")
            result = load_capture(out / "result.png", "result")
        except ScreenshotError as error:
            raise failure(str(error), done, facts) from None
    if 0 < max_result_width < result.width:
        height = round(result.height * max_result_width / result.width)
        result = result.resize((max_result_width, height), Image.Resampling.LANCZOS)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for image, name in ((dialog, "gimp-dialog.png"), (result, "gimp-result.png")):
        target = out_dir / name
        save_atomically(image, target)
        written.append(target)
    print(f"layers after the run: {facts.get('layers')}")
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=HERE, help="where to write the PNGs (default: docs/)")
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds before GIMP is killed (default: 300)"
    )
    parser.add_argument(
        "--max-result-width",
        type=int,
        default=MAX_RESULT_WIDTH,
        help="scale the result capture down to this width (default 0: keep it 1:1, "
        f"{WINDOW_SIZE[0]} px wide)",
    )
    args = parser.parse_args(argv)
    try:
        written = take_screenshots(args.out_dir, args.timeout, args.max_result_width)
    except ScreenshotError as error:
        print(f"make_gimp_screenshot: {error}", file=sys.stderr)
        return 1
    for path in written:
        with Image.open(path) as image:
            size = f"{image.width}x{image.height}"
        print(f"wrote {path} ({size}, {path.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
