"""Scenarios run inside GIMP 3 by test_plugin_in_gimp.py (through python-fu-eval, one GIMP start).

GIMP's python-fu-eval provides the globals Gimp, Gegl, Babl, GObject, GLib, Gio and sys. The
input images come from ``input-<name>.raw`` files in $KMQ_GIMP_OUT (shapes and dtypes in
``inputs.json``); each scenario builds a GIMP image from them, calls ``plug-in-kmeans-quantize``
as a script would, and records what GIMP then holds: the facts in ``results.json`` (one entry
per scenario; a scenario that raised records its traceback instead) and the pixels in
``<scenario>-<name>.raw`` (shapes in ``arrays.json``). The assertions are made outside GIMP.

The script uses no numpy: it runs a second time with numpy hidden from GIMP's Python, where the
plug-in falls back to its numpy-free engine.
"""

# ruff: noqa: F821  (Gimp, Gegl, Babl are globals given by python-fu-eval)

import json
import os
import sys
import traceback

OUT = os.environ["KMQ_GIMP_OUT"]
PROCEDURE = "plug-in-kmeans-quantize"

#: dtype name -> (GIMP precision, babl component, bytes per value)
PRECISIONS = {
    "u8": (Gimp.Precision.U8_NON_LINEAR, "u8", "uint8"),
    "u16": (Gimp.Precision.U16_NON_LINEAR, "u16", "uint16"),
    "float": (Gimp.Precision.FLOAT_NON_LINEAR, "float", "float32"),
}
ITEM_SIZES = {"uint8": 1, "uint16": 2, "float32": 4}


class Pixels:
    """Pixel bytes with their shape (height, width, channels) and dtype name, as numpy would hold
    them; this script uses no numpy, so that it also runs where GIMP's Python has none."""

    def __init__(self, data, height, width, channels, dtype="uint8", plane=False):
        assert len(data) == height * width * channels * ITEM_SIZES[dtype], (
            len(data),
            height,
            width,
            channels,
        )
        self.data, self.height, self.width, self.channels, self.dtype = data, height, width, channels, dtype
        self.plane = plane  # one channel, shaped (height, width)

    @property
    def shape(self):
        return [self.height, self.width] if self.plane else [self.height, self.width, self.channels]

    def crop(self, height, width):
        """The top-left ``height`` x ``width`` corner."""
        row = self.width * self.channels * ITEM_SIZES[self.dtype]
        keep = width * self.channels * ITEM_SIZES[self.dtype]
        data = b"".join(self.data[y * row : y * row + keep] for y in range(height))
        return Pixels(data, height, width, self.channels, self.dtype)


def filled(height, width, channels, value):
    return Pixels(bytes([value]) * (height * width * channels), height, width, channels)


def load_inputs():
    with open(os.path.join(OUT, "inputs.json")) as manifest:
        shapes = json.load(manifest)
    inputs = {}
    for name, (shape, dtype) in shapes.items():
        with open(os.path.join(OUT, f"input-{name}.raw"), "rb") as raw:
            data = raw.read()
        height, width = shape[:2]
        inputs[name] = Pixels(data, height, width, shape[2] if len(shape) == 3 else 1, dtype)
    return inputs


INPUTS = load_inputs()


def babl_format(channels, component):
    model = {1: "Y'", 2: "Y'A", 3: "R'G'B'", 4: "R'G'B'A"}[channels]
    return f"{model} {component}"


def new_image(width, height, gray=False, precision="u8"):
    base = Gimp.ImageBaseType.GRAY if gray else Gimp.ImageBaseType.RGB
    return Gimp.Image.new_with_precision(width, height, base, PRECISIONS[precision][0])


def add_layer(image, name, pixels, parent=None, position=0, offsets=(0, 0), precision="u8"):
    """A layer holding ``pixels``: 1/2 channels gray(+alpha), 3/4 RGB(+alpha)."""
    kinds = {
        1: Gimp.ImageType.GRAY_IMAGE,
        2: Gimp.ImageType.GRAYA_IMAGE,
        3: Gimp.ImageType.RGB_IMAGE,
        4: Gimp.ImageType.RGBA_IMAGE,
    }
    width, height = pixels.width, pixels.height
    layer = Gimp.Layer.new(image, name, width, height, kinds[pixels.channels], 100.0, Gimp.LayerMode.NORMAL)
    image.insert_layer(layer, parent, position)
    layer.set_offsets(*offsets)
    buffer = layer.get_buffer()
    component = PRECISIONS[precision][1]
    buffer.set(Gegl.Rectangle.new(0, 0, width, height), babl_format(pixels.channels, component), pixels.data)
    buffer.flush()
    return layer


def read(drawable, channels, precision="u8"):
    """A drawable's pixels with ``channels`` channels, in the given precision."""
    width, height = drawable.get_width(), drawable.get_height()
    _, component, dtype = PRECISIONS[precision]
    data = drawable.get_buffer().get(
        Gegl.Rectangle.new(0, 0, width, height), 1.0, babl_format(channels, component), Gegl.AbyssPolicy.NONE
    )
    return Pixels(data, height, width, channels, dtype)


def coverage(image, layer, babl_format="Y float"):
    """The selection's per-pixel coverage of ``layer``, as GIMP holds it (0..1, or 0..255 in u8)."""
    _, x, y = layer.get_offsets()
    width, height = layer.get_width(), layer.get_height()
    data = (
        image.get_selection()
        .get_buffer()
        .get(Gegl.Rectangle.new(x, y, width, height), 1.0, babl_format, Gegl.AbyssPolicy.NONE)
    )
    return Pixels(data, height, width, 1, "uint8" if babl_format.endswith("u8") else "float32", plane=True)


def run_procedure(image, drawables, run_mode=None, **arguments):
    """Run the procedure as a script would; (status nick, message, new image or None)."""
    procedure = Gimp.get_pdb().lookup_procedure(PROCEDURE)
    config = procedure.create_config()
    if run_mode is not None:
        config.set_property("run-mode", run_mode)
    config.set_property("image", image)
    config.set_core_object_array("drawables", drawables)
    for name, value in arguments.items():
        config.set_property(name.replace("_", "-"), value)
    result = procedure.run(config)
    value = result.index(1) if result.length() > 1 else None
    message = value if isinstance(value, str) else ""
    return result.index(0).value_nick, message, value if isinstance(value, Gimp.Image) else None


def call(image, drawables, run_mode=None, **arguments):
    """Run the procedure as a script would; (status nick, message)."""
    status, message, _ = run_procedure(image, drawables, run_mode, **arguments)
    return status, message


def layer_facts(image, layer):
    parent = layer.get_parent()
    return {
        "name": layer.get_name(),
        "offsets": list(layer.get_offsets()[1:]),
        "size": [layer.get_width(), layer.get_height()],
        "parent": parent.get_name() if parent is not None else None,
        "position": image.get_item_position(layer),
        "bpp": layer.get_bpp(),
        "has_alpha": layer.has_alpha(),
    }


def tree(image):
    """Layer names, top to bottom, groups as [name, children]."""

    def names(layers):
        return [
            [layer.get_name(), names(layer.get_children())] if layer.is_group() else layer.get_name()
            for layer in layers
        ]

    return names(image.get_layers())


def quantize_one(name, pixels, settings, gray=False, precision="u8", read_channels=None):
    """One layer, one call: the source before and after, the new layer, and the facts."""
    image = new_image(pixels.width, pixels.height, gray=gray, precision=precision)
    source = add_layer(image, "photo", pixels, precision=precision)
    before = read(source, pixels.channels, precision)
    status, message = call(image, [source], **settings)
    new = image.get_layers()[0]
    channels = read_channels or (2 if gray else 4)
    arrays = {
        "source": before,
        "source_after": read(source, pixels.channels, precision),
        "new": read(new, channels, precision),
    }
    if precision != "u8":  # as the numpy-free engine reads and writes it
        arrays["source8"] = read(source, pixels.channels)
        arrays["new8"] = read(new, channels)
    facts = {
        "status": status,
        "message": message,
        "layers": tree(image),
        "new": layer_facts(image, new),
        "precision": image.get_precision().value_nick,
    }
    image.delete()
    return facts, arrays


def scenario_rgb8():
    return quantize_one(
        "rgb8",
        INPUTS["photo"],
        {"n_colors": 12, "color_space": "rgb", "dither": "none", "seed": 3, "max_iterations": 50},
    )


def scenario_defaults():
    return quantize_one("defaults", INPUTS["photo"], {})


def scenario_rgba():
    return quantize_one("rgba", INPUTS["rgba"], {"n_colors": 6, "color_space": "rgb", "dither": "none"})


def scenario_gray():
    return quantize_one(
        "gray",
        INPUTS["gray"],
        {"n_colors": 4, "color_space": "lab", "dither": "ordered"},
        gray=True,
    )


def scenario_u16():
    return quantize_one(
        "u16", INPUTS["photo16"], {"n_colors": 8, "color_space": "rgb", "dither": "none"}, precision="u16"
    )


def scenario_float():
    return quantize_one(
        "float",
        INPUTS["photofloat"],
        {"n_colors": 8, "color_space": "oklab", "dither": "none", "init": "random", "seed": 7},
        precision="float",
    )


def scenario_group_offset():
    photo = INPUTS["photo"]
    image = new_image(120, 100)
    add_layer(image, "background", filled(100, 120, 3, 200))
    group = Gimp.GroupLayer.new(image, "group")
    image.insert_layer(group, None, 0)
    add_layer(image, "below", filled(20, 20, 3, 50), parent=group, position=0)
    inner = add_layer(image, "inner", photo.crop(40, 50), parent=group, position=0, offsets=(30, 25))
    status, message = call(image, [inner], n_colors=5, dither="none")
    new = group.get_children()[0]
    facts = {
        "status": status,
        "message": message,
        "layers": tree(image),
        "new": layer_facts(image, new),
        "source": layer_facts(image, inner),
    }
    arrays = {"source": read(inner, 3), "new": read(new, 4)}
    image.delete()
    return facts, arrays


def selection_scenario(select):
    photo = INPUTS["photo"]
    image = new_image(photo.width, photo.height)
    source = add_layer(image, "photo", photo)
    select(image)
    status, message = call(image, [source], n_colors=6, color_space="rgb", dither="none")
    new = image.get_layers()[0]
    arrays = {
        "source": read(source, 3),
        "new": read(new, 4),
        "coverage": coverage(image, source),
        "coverage8": coverage(image, source, "Y u8"),
    }
    facts = {"status": status, "message": message, "layers": tree(image)}
    image.delete()
    return facts, arrays


def scenario_rectangle():
    return selection_scenario(lambda image: image.select_rectangle(Gimp.ChannelOps.REPLACE, 10, 8, 40, 30))


def scenario_feathered_ellipse():
    def select(image):
        image.select_ellipse(Gimp.ChannelOps.REPLACE, 15, 10, 60, 50)
        Gimp.Selection.feather(image, 16.0)

    return selection_scenario(select)


def two_layer_scenario(shared):
    photo, other = INPUTS["photo"], INPUTS["photo2"]
    image = new_image(photo.width, photo.height)
    first = add_layer(image, "first", photo)
    second = add_layer(image, "second", other, position=0)
    status, message = call(
        image, [first, second], n_colors=8, shared_palette=shared, dither="none", color_space="rgb"
    )
    layers = {layer.get_name(): layer for layer in image.get_layers()}
    arrays = {
        "first": read(first, 3),
        "second": read(second, 3),
        "first_new": read(layers["first (K-Means 8)"], 4),
        "second_new": read(layers["second (K-Means 8)"], 4),
    }
    facts = {"status": status, "message": message, "layers": tree(image)}
    image.delete()
    return facts, arrays


def scenario_shared_palette():
    return two_layer_scenario(True)


def scenario_separate_palettes():
    return two_layer_scenario(False)


def scenario_create_palette():
    photo = INPUTS["photo"]
    image = new_image(photo.width, photo.height)
    image_name = image.get_name()
    source = add_layer(image, "photo", photo)
    before = {palette.get_name() for palette in Gimp.palettes_get_list("")}
    status, message = call(image, [source], n_colors=7, create_palette=True, dither="none")
    created = [palette for palette in Gimp.palettes_get_list("") if palette.get_name() not in before]
    colors = (
        b"".join(color.get_bytes(Babl.format("R'G'B' u8")).get_data() for color in created[0].get_colors())
        if created
        else b""
    )
    facts = {
        "status": status,
        "message": message,
        "image_name": image_name,
        "palettes": [palette.get_name() for palette in created],
        "color_count": created[0].get_color_count() if created else 0,
    }
    arrays = {
        "source": read(source, 3),
        "new": read(image.get_layers()[0], 4),
        "palette": Pixels(colors, len(colors) // 3, 3, 1, plane=True),
    }
    image.delete()
    return facts, arrays


def error_call(image, drawables, **arguments):
    """Call, recording status and message and whether the layer tree changed."""
    before = tree(image)
    status, message = call(image, drawables, **arguments)
    facts = {"status": status, "message": message, "unchanged": tree(image) == before}
    image.delete()
    return facts


def scenario_errors():
    photo = INPUTS["photo"]
    height, width = photo.height, photo.width
    facts = {}

    image = new_image(width, height)
    add_layer(image, "photo", photo)
    facts["no_layer"] = error_call(image, [])

    image = new_image(width, height)
    layer = add_layer(image, "clear", filled(height, width, 4, 0))
    facts["transparent"] = error_call(image, [layer])

    image = new_image(width, height)
    layer = add_layer(image, "photo", photo)
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 5, 5, 20, 20)
    layer.set_offsets(width, height)  # the layer moved away from the selection
    facts["selection_outside"] = error_call(image, [layer])

    image = new_image(width, height)
    add_layer(image, "photo", photo)
    channel = Gimp.Channel.new(image, "channel", width, height, 50.0, Gegl.Color.new("red"))
    image.insert_channel(channel, None, 0)
    facts["channel"] = error_call(image, [channel])

    image = new_image(width, height)
    layer = add_layer(image, "photo", photo)
    mask = layer.create_mask(Gimp.AddMaskType.WHITE)
    layer.add_mask(mask)
    facts["layer_mask"] = error_call(image, [mask])

    image = new_image(width, height)
    group = Gimp.GroupLayer.new(image, "group")
    image.insert_layer(group, None, 0)
    add_layer(image, "photo", photo, parent=group)
    facts["group"] = error_call(image, [group])

    image = new_image(width, height)
    layer = add_layer(image, "photo", photo)
    image.convert_indexed(Gimp.ConvertDitherType.NONE, Gimp.ConvertPaletteType.GENERATE, 16, False, False, "")
    facts["indexed"] = error_call(image, [image.get_layers()[0]])
    return facts, {}


def colormap(image):
    """An indexed image's colour map as 8-bit RGB, one row per entry."""
    colors = image.get_palette().get_colors()
    data = b"".join(color.get_bytes(Babl.format("R'G'B' u8")).get_data() for color in colors)
    return Pixels(data, len(colors), 3, 1, plane=True)


def indices(layer):
    """An indexed layer's palette indices and alpha, as stored (no conversion)."""
    width, height = layer.get_width(), layer.get_height()
    data = layer.get_buffer().get(
        Gegl.Rectangle.new(0, 0, width, height), 1.0, Babl.get_name(layer.get_format()), Gegl.AbyssPolicy.NONE
    )
    return Pixels(data, height, width, 2)


def indexed_scenario(names, settings):
    """The layers ``names`` of INPUTS quantized to a new layer each, then to an indexed image."""
    first = INPUTS[names[0]]
    image = new_image(first.width, first.height)
    sources = [add_layer(image, name, INPUTS[name], position=0) for name in names]
    new_layer_status, _ = call(image, sources, output="new-layer", **settings)
    images_before = len(Gimp.get_images())
    status, message, indexed = run_procedure(image, sources, output="indexed-image", **settings)
    facts = {
        "status": status,
        "message": message,
        "new_layer_status": new_layer_status,
        "new_images": len(Gimp.get_images()) - images_before,
        "layers": tree(image),
    }
    arrays = {}
    for name, source in zip(names, sources, strict=True):
        arrays[f"{name}_source"] = read(source, INPUTS[name].channels)
        new_layers = {layer.get_name(): layer for layer in image.get_layers()}
        arrays[f"{name}_new"] = read(new_layers[f"{name} (K-Means {settings['n_colors']})"], 4)
    if indexed is not None:
        facts["base"] = indexed.get_base_type().value_nick
        facts["indexed_layers"] = tree(indexed)
        facts["indexed_offsets"] = [list(layer.get_offsets()[1:]) for layer in indexed.get_layers()]
        arrays["colormap"] = colormap(indexed)
        for name, layer in zip(names, indexed.get_layers(), strict=True):
            arrays[f"{name}_indices"] = indices(layer)
            arrays[f"{name}_indexed_rgba"] = read(layer, 4)
        if len(names) == 1:  # saved as the README shows, then loaded back
            path = os.path.join(OUT, "indexed.gif")
            Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, indexed, Gio.File.new_for_path(path), None)
            loaded = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(path))
            facts["gif_base"] = loaded.get_base_type().value_nick
            arrays["gif_rgba"] = read(loaded.get_layers()[0], 4)
            loaded.delete()
        indexed.delete()
    image.delete()
    return facts, arrays


def scenario_indexed_output():
    return indexed_scenario(
        ["clear_band"], {"n_colors": 6, "color_space": "lab", "dither": "floyd-steinberg"}
    )


def scenario_indexed_shared():
    return indexed_scenario(
        ["photo", "photo2"], {"n_colors": 5, "color_space": "rgb", "dither": "none", "shared_palette": True}
    )


def scenario_indexed_refused():
    facts = {}
    photo = INPUTS["photo"]
    image = new_image(photo.width, photo.height)
    layer = add_layer(image, "rgba", INPUTS["rgba"])  # a band of alpha 128
    before = len(Gimp.get_images())
    facts["partly_transparent"] = error_call(image, [layer], output="indexed-image", n_colors=4)
    facts["partly_transparent"]["new_images"] = len(Gimp.get_images()) - (before - 1)  # source deleted
    image = new_image(photo.width, photo.height)
    layers = [add_layer(image, "first", photo), add_layer(image, "second", INPUTS["photo2"])]
    facts["several_unshared"] = error_call(image, layers, output="indexed-image", n_colors=4)
    return facts, {}


def scenario_last_values():
    """A non-interactive run stores nothing for WITH_LAST_VALS; that run must still work."""
    photo = INPUTS["photo"]
    image = new_image(photo.width, photo.height)
    source = add_layer(image, "photo", photo)
    status, message = call(image, [source], run_mode=Gimp.RunMode.WITH_LAST_VALS)
    facts = {"status": status, "message": message, "layers": tree(image)}
    image.delete()
    return facts, {}


def scenario_versions():
    """What runs the scenarios: GIMP's version, its Python's and numpy's (None: not importable)."""
    try:
        import numpy
    except ImportError:
        numpy_version = None
    else:
        numpy_version = numpy.__version__
    return {"gimp": Gimp.version(), "python": sys.version.split()[0], "numpy": numpy_version}, {}


def save(key, arrays):
    """Each array's bytes as <key>-<name>.raw; returns their shapes and dtypes for arrays.json."""
    saved = {}
    for name, pixels in arrays.items():
        with open(os.path.join(OUT, f"{key}-{name}.raw"), "wb") as raw:
            raw.write(pixels.data)
        saved[name] = [pixels.shape, pixels.dtype]
    return saved


results = {}
shapes = {}
for name, scenario in sorted(globals().items()):
    if not name.startswith("scenario_"):
        continue
    key = name[len("scenario_") :]
    try:
        facts, arrays = scenario()
        shapes[key] = save(key, arrays)
        results[key] = facts
    except Exception:  # record it; the other scenarios still run
        results[key] = {"traceback": traceback.format_exc()}
with open(os.path.join(OUT, "arrays.json"), "w") as out:
    json.dump(shapes, out)
with open(os.path.join(OUT, "results.json"), "w") as out:
    json.dump(results, out, indent=1)
