"""Run inside GIMP 3 with its windows (on Xvfb) by test_plugin_in_gimp.py: what needs a user.

Keys are pressed with xdotool, as a user would (GIMP handles them while this script waits):

1. Undo: the PDB has no "undo" procedure, so after two runs that each quantize two layers,
   Ctrl+Z on the image window must remove the two layers of the second run, no more.
2. The dialog: an INTERACTIVE run shows it; a helper shell waits for it, jumps to "Number of
   colors" with its mnemonic (Alt+N), types 5 and presses Return (OK).
3. Last values: a WITH_LAST_VALS run afterwards must reuse K = 5.
4. The preview: on a 480x360 layer with its left part selected, the helper waits for the first
   preview the plug-in logs
   ($KMQ_PREVIEW_LOG), types K = 7 and waits for its preview, captures the dialog window
   (preview-shot.ppm in $KMQ_GIMP_OUT), turns the preview off (Alt+V),
   types K = 9, checks that no preview follows within 3 s, and cancels the dialog.

Writes results.json to $KMQ_GIMP_OUT.
"""

# ruff: noqa: F821  (Gimp, Gegl are globals given by python-fu-eval)

import json
import os
import subprocess
import time

OUT = os.environ["KMQ_GIMP_OUT"]


def names(image):
    return [layer.get_name() for layer in image.get_layers()]


image = Gimp.Image.new(64, 48, Gimp.ImageBaseType.RGB)
for name, color in (("first", "orange"), ("second", "teal")):
    layer = Gimp.Layer.new(image, name, 64, 48, Gimp.ImageType.RGB_IMAGE, 100.0, Gimp.LayerMode.NORMAL)
    image.insert_layer(layer, None, 0)
    Gimp.context_set_foreground(Gegl.Color.new(color))
    layer.fill(Gimp.FillType.FOREGROUND)
    image.select_ellipse(Gimp.ChannelOps.REPLACE, 8, 6, 30, 30)
    layer.edit_fill(Gimp.FillType.WHITE)
Gimp.Selection.none(image)
sources = image.get_layers()
display = Gimp.Display.new(image)
Gimp.displays_flush()

procedure = Gimp.get_pdb().lookup_procedure("plug-in-kmeans-quantize")
statuses = []
for n_colors in (2, 3):
    config = procedure.create_config()
    config.set_property("image", image)
    config.set_core_object_array("drawables", sources)
    config.set_property("n-colors", n_colors)
    statuses.append(procedure.run(config).index(0).value_nick)
before = names(image)

time.sleep(1)  # let the window map
windows = subprocess.run(
    ["xdotool", "search", "--name", r"Untitled.*GIMP"], capture_output=True, text=True, check=True
).stdout.split()
subprocess.run(
    ["xdotool", "windowfocus", "--sync", windows[-1], "key", "--clearmodifiers", "ctrl+z"], check=True
)
for _ in range(40):  # the key press is handled by GIMP while this script waits
    time.sleep(0.25)
    if names(image) != before:
        break
time.sleep(0.5)  # a second undo step (if the run made several) would show up by now
after_undo = names(image)

#: Waits for the dialog, sets "Number of colors" to 5 and presses OK; every wait is bounded.
TYPE_FIVE = r"""
dialog=$(timeout 60 xdotool search --sync --onlyvisible --name '^K-Means Quantize$' | head -n 1)
[ -n "$dialog" ] || exit 1
sleep 1
xdotool windowfocus --sync "$dialog" key alt+n key ctrl+a type 5
xdotool key Tab key alt+o  # Tab commits the typed value; Alt+O is the OK button
for tick in $(seq 20); do
  sleep 0.5
  xdotool search --onlyvisible --name '^K-Means Quantize$' >/dev/null || exit 0
done
# Still open: cancel it (Escape closes a popup, Alt+C is Cancel) so that the run returns.
xdotool key Escape sleep 0.5 key alt+c
exit 2
"""
helper = subprocess.Popen(["sh", "-c", TYPE_FIVE])
config = procedure.create_config()
config.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
config.set_property("image", image)
config.set_core_object_array("drawables", [sources[-1]])  # "first"
interactive = procedure.run(config).index(0).value_nick  # returns when the dialog is closed
helper_exit = helper.wait(timeout=60)
after_dialog = names(image)

config = procedure.create_config()
config.set_property("run-mode", Gimp.RunMode.WITH_LAST_VALS)
config.set_property("image", image)
config.set_core_object_array("drawables", [sources[0]])  # "second"
last_values = procedure.run(config).index(0).value_nick
after_last_values = names(image)

#: The preview steps of the docstring; every wait is bounded, and the dialog is cancelled at the end.
PREVIEW_STEPS = r"""
log="$KMQ_PREVIEW_LOG"
wait_for() {
  for tick in $(seq 240); do grep -q "$1" "$log" 2>/dev/null && return 0; sleep 0.5; done
  return 1
}
dialog=$(timeout 60 xdotool search --sync --onlyvisible --name '^K-Means Quantize$' | head -n 1)
[ -n "$dialog" ] || exit 1
status=0
wait_for '"n_colors"' || status=3
xdotool windowfocus --sync "$dialog" key alt+n key ctrl+a type 7
xdotool key Tab
[ "$status" = 0 ] && { wait_for '"n_colors": 7' || status=4; }
sleep 1  # let GTK paint it
xwd -id "$dialog" -display "$DISPLAY" | xwdtopnm 2>/dev/null > "$KMQ_GIMP_OUT/preview-shot.ppm"
xdotool key alt+v
sleep 1
before=$(wc -l < "$log")
xdotool key alt+n key ctrl+a type 9
xdotool key Tab
sleep 3
after=$(wc -l < "$log")
[ "$status" = 0 ] && [ "$before" != "$after" ] && status=5
xdotool key Escape sleep 0.5 key alt+c
exit "$status"
"""
width, height = 480, 360
rows = []
for y in range(height):  # gradients and a disc: many colours, no numpy needed
    row = bytearray(3 * width)
    for x in range(width):
        inside = (x - 300) ** 2 + (y - 150) ** 2 < 60**2
        row[3 * x : 3 * x + 3] = (
            (200, 40, 60) if inside else (x * 255 // width, y * 255 // height, (x + y) % 256)
        )
    rows.append(bytes(row))
big = Gimp.Image.new(width, height, Gimp.ImageBaseType.RGB)
layer = Gimp.Layer.new(big, "big", width, height, Gimp.ImageType.RGB_IMAGE, 100.0, Gimp.LayerMode.NORMAL)
big.insert_layer(layer, None, 0)
layer.get_buffer().set(Gegl.Rectangle.new(0, 0, width, height), "R'G'B' u8", b"".join(rows))
layer.get_buffer().flush()
big.select_rectangle(Gimp.ChannelOps.REPLACE, 0, 0, 301, height)  # the preview shows the change only
helper = subprocess.Popen(["sh", "-c", PREVIEW_STEPS])
config = procedure.create_config()
config.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
config.set_property("image", big)
config.set_core_object_array("drawables", [layer])
preview_run = procedure.run(config).index(0).value_nick
preview_helper_exit = helper.wait(timeout=200)
preview_layers = names(big)
with open(os.path.join(OUT, "results.json"), "w") as out:
    json.dump(
        {
            "statuses": statuses,
            "before": before,
            "after": after_undo,
            "interactive": interactive,
            "helper_exit": helper_exit,
            "after_dialog": after_dialog,
            "last_values": last_values,
            "after_last_values": after_last_values,
            "preview_run": preview_run,
            "preview_helper_exit": preview_helper_exit,
            "preview_layers": preview_layers,
        },
        out,
    )
