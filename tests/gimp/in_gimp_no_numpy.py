"""Run inside GIMP 3 by test_plugin_in_gimp.py with numpy made unimportable (PYTHONPATH).

Calls the plug-in on a plain layer and writes results.json to $KMQ_GIMP_OUT: the status and
message it returned and whether the layers changed. Uses no numpy itself.
"""

# ruff: noqa: F821  (Gimp is a global given by python-fu-eval)

import json
import os

try:
    import numpy  # noqa: F401
except ImportError:
    numpy_importable = False
else:
    numpy_importable = True

image = Gimp.Image.new(32, 24, Gimp.ImageBaseType.RGB)
layer = Gimp.Layer.new(image, "plain", 32, 24, Gimp.ImageType.RGB_IMAGE, 100.0, Gimp.LayerMode.NORMAL)
image.insert_layer(layer, None, 0)
layer.fill(Gimp.FillType.WHITE)
procedure = Gimp.get_pdb().lookup_procedure("plug-in-kmeans-quantize")
config = procedure.create_config()
config.set_property("image", image)
config.set_core_object_array("drawables", [layer])
result = procedure.run(config)
facts = {
    "numpy_importable": numpy_importable,
    "status": result.index(0).value_nick,
    "message": result.index(1),
    "layers": [item.get_name() for item in image.get_layers()],
}
image.delete()
with open(os.path.join(os.environ["KMQ_GIMP_OUT"], "results.json"), "w") as out:
    json.dump(facts, out)
