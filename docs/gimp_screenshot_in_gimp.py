"""Run inside GIMP 3 with its windows (on Xvfb) by make_gimp_screenshot.py: screenshot the plug-in.

Loads the sample photo into an image window, starts a helper shell that waits for the
"K-Means Quantize" dialog, captures it (``xwd -id``) and presses Return, and meanwhile calls the
procedure INTERACTIVE (which blocks until the dialog closes, then quantizes). Then it captures
the image window with the new layer. GIMP keeps handling window events while this script waits.

Environment: ``KMQ_GIMP_OUT`` (folder for the captures and results.json), ``KMQ_SAMPLE`` (the
photo), ``KMQ_WINDOW_SIZE`` ("WIDTHxHEIGHT" for the image window). Writes ``dialog.png``,
``result.png`` and ``results.json`` (status, window geometry, layer names, helper log) there.
"""

# ruff: noqa: F821  (Gimp, Gio are globals given by python-fu-eval)

import json
import os
import subprocess
import time

OUT = os.environ["KMQ_GIMP_OUT"]
SAMPLE = os.environ["KMQ_SAMPLE"]
WIDTH, HEIGHT = (int(value) for value in os.environ.get("KMQ_WINDOW_SIZE", "1240x640").split("x"))
DIALOG_TITLE = "^K-Means Quantize$"
#: "*[Untitled]-1.0 (RGB color 8-bit ..., 2 layers) 640x426 – GIMP" (xdotool's "." matches a byte, not "–")
IMAGE_WINDOW_TITLE = r"\) [0-9]+x[0-9]+ .+ GIMP$"

#: $1 = output folder, $2 = dialog title pattern. Every wait is bounded; the log says how far it got.
HELPER = r"""
out="$1"
log() { echo "$(date +%T) $*" >> "$out/helper.log"; }
dialog=$(timeout 60 xdotool search --sync --onlyvisible --name "$2" | head -n 1)
if [ -z "$dialog" ]; then log "no dialog window within 60 s"; exit 1; fi
log "dialog window $dialog"
xdotool mousemove 1279 899  # the pointer off every window: no hover highlight, no brush outline
sleep 4  # let it draw, the preview included (computed 150 ms after the dialog opens)
xdotool getwindowgeometry --shell "$dialog" > "$out/dialog-geometry.txt"
xwd -id "$dialog" -display "$DISPLAY" | xwdtopnm 2>/dev/null | pnmtopng > "$out/dialog.png"
log "captured $(wc -c < "$out/dialog.png") bytes"
for attempt in 1 2 3; do
  xdotool windowfocus --sync "$dialog" key Return
  for tick in 1 2 3 4 5 6 7 8 9 10; do
    sleep 0.5
    if ! xdotool search --onlyvisible --name "$2" > /dev/null; then log "dialog closed"; exit 0; fi
  done
  log "dialog still open after Return (attempt $attempt)"
done
exit 2
"""


def xdotool(*args: str) -> str:
    """Output of an xdotool command ("" when it finds nothing)."""
    done = subprocess.run(["xdotool", *args], capture_output=True, text=True, timeout=30)
    return done.stdout.strip()


def geometry(window: str) -> dict:
    """X, Y, WIDTH, HEIGHT of a window."""
    rows = xdotool("getwindowgeometry", "--shell", window).splitlines()
    return {key: int(value) for key, _, value in (row.partition("=") for row in rows) if key != "SCREEN"}


def capture(window: str, name: str) -> None:
    """Write the window's pixels (as on screen) to OUT/name."""
    command = f'xwd -id {window} -display "$DISPLAY" | xwdtopnm 2>/dev/null | pnmtopng > "{OUT}/{name}"'
    subprocess.run(["sh", "-c", command], check=True, timeout=60)


def wait_for(condition, seconds: float):
    """The first true value of condition() within ``seconds`` (polled), else the last one."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def close_welcome() -> None:
    """Hide the "Welcome to GIMP" dialog, which a new profile gets even with show-welcome-dialog off."""
    for welcome in xdotool("search", "--onlyvisible", "--name", "^Welcome to GIMP").split():
        xdotool("windowunmap", "--sync", welcome)
        facts.setdefault("welcome-dialogs-hidden", []).append(welcome)


facts = {}
try:
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(SAMPLE))
    layer = image.get_layers()[0]
    Gimp.Display.new(image)
    Gimp.displays_flush()

    close_welcome()

    helper = subprocess.Popen(["sh", "-c", HELPER, "sh", OUT, DIALOG_TITLE])
    procedure = Gimp.get_pdb().lookup_procedure("plug-in-kmeans-quantize")
    config = procedure.create_config()
    config.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
    config.set_property("image", image)
    config.set_core_object_array("drawables", [layer])
    result = procedure.run(config)  # returns once the helper pressed Return and the layer is added
    facts["status"] = result.index(0).value_nick
    facts["helper-exit"] = helper.wait(timeout=60)
    facts["layers"] = [item.get_name() for item in image.get_layers()]

    Gimp.displays_flush()
    window = wait_for(lambda: xdotool("search", "--onlyvisible", "--name", IMAGE_WINDOW_TITLE).split(), 20)
    if not window:
        raise RuntimeError("no visible GIMP image window")
    window = window[-1]
    facts["image-window-title"] = xdotool("getwindowname", window)
    xdotool("windowmove", "--sync", window, "0", "0")
    xdotool("windowsize", "--sync", window, str(WIDTH), str(HEIGHT))
    close_welcome()
    xdotool("windowraise", window)
    xdotool("mousemove", "1279", "899")
    time.sleep(2.0)  # relayout, canvas redraw, layer thumbnails
    facts["image-window"] = geometry(window)
    capture(window, "result.png")
except Exception:  # noqa: BLE001 - reported in results.json, then re-raised (GIMP exits 64)
    import traceback

    facts["traceback"] = traceback.format_exc()
    raise
finally:
    log = os.path.join(OUT, "helper.log")
    if os.path.exists(log):
        with open(log) as lines:
            facts["helper-log"] = lines.read().splitlines()
    with open(os.path.join(OUT, "results.json"), "w") as out:
        json.dump(facts, out, indent=1)
