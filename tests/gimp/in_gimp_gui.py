"""Run inside GIMP 3 with its windows (on Xvfb) by test_plugin_in_gimp.py: what needs a user.

Keys are pressed with xdotool, as a user would (GIMP handles them while this script waits):

1. Undo: the PDB has no "undo" procedure, so after two runs that each quantize two layers,
   Ctrl+Z on the image window must remove the two layers of the second run, no more.
2. The dialog: an INTERACTIVE run shows it; a helper shell waits for it, jumps to "Number of
   colors" with its mnemonic (Alt+N), types 5 and presses Return (OK).
3. Last values: a WITH_LAST_VALS run afterwards must reuse K = 5.

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
            "after_last_values": names(image),
        },
        out,
    )
