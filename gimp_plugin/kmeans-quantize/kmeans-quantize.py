#!/usr/bin/env python3
"""K-Means Quantize, a GIMP 3 plug-in: Filters > Colors > K-Means Quantize...

Reduces each selected layer to K colours chosen by k-means clustering and puts
the result in a new layer directly above it; the source layer is not touched.
This file is glue only: it reads the layer's pixels, calls the
``kmeans_quantize`` package (copied beside this file by
``gimp_plugin/install.py``) and writes a new layer. Scripts call it as the PDB
procedure ``plug-in-kmeans-quantize``.
"""

import sys

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("GimpUi", "3.0")
gi.require_version("Gegl", "0.4")
gi.require_version("Babl", "0.1")
from gi.repository import Babl, Gegl, Gimp, GimpUi, GLib, GObject  # noqa: E402

PROCEDURE = "plug-in-kmeans-quantize"

try:
    import kmeans_quantize
    import numpy as np
    from kmeans_quantize.palette_io import entry_names
    from kmeans_quantize.pixels import to_unit
except ImportError as error:  # reported when the procedure runs, so the menu entry still appears
    MISSING = error
else:
    MISSING = None

#: What to do about a missing numpy, by sys.platform prefix ({python} is GIMP's interpreter).
NUMPY_HELP = {
    "linux": "GIMP runs plug-ins with the system Python; install your distribution's numpy package, "
    "for example 'sudo apt install python3-numpy' (Debian, Ubuntu) or "
    "'sudo dnf install python3-numpy' (Fedora), then restart GIMP.",
    "win32": "GIMP for Windows bundles its own Python without numpy or pip. In a Command Prompt run "
    '"{python}" -m ensurepip --user   and then   "{python}" -m pip install --user numpy   '
    "then restart GIMP.",
    "darwin": 'In a Terminal run   "{python}" -m pip install --user numpy   then restart GIMP.',
}

# Stored formats by GIMP precision: 8- and 16-bit images are read as they are stored, every
# other precision (32-bit integer, half, float, double) as 32-bit float. The "'" formats are
# sRGB-encoded, which is what kmeans_quantize expects.
COMPONENTS = {"u8": ("u8", "uint8"), "u16": ("u16", "uint16")}
FLOAT_COMPONENT = ("float", "float32")

PROGRESS_SPANS = {"read": (0.0, 0.1), "histogram": (0.1, 0.2), "fit": (0.2, 0.8), "mapping": (0.8, 0.9)}


class UserError(Exception):
    """A problem the user (or the calling script) can fix; carries the PDB status to return."""

    def __init__(self, message, status=Gimp.PDBStatusType.EXECUTION_ERROR):
        super().__init__(message)
        self.status = status


class Progress:
    """GIMP's progress bar for N layers, each going through read, histogram, fit and mapping.

    :meth:`stage` is also the ``progress(stage, fraction)`` callback handed to kmeans_quantize.
    """

    def __init__(self, n_layers):
        self.n_layers = n_layers
        self.layer = 0
        self.shown = -1.0

    def stage(self, name, fraction=0.0):
        start, end = PROGRESS_SPANS[name]
        total = (self.layer + start + (end - start) * fraction) / self.n_layers
        if total - self.shown >= 0.005:  # each update is a round trip to GIMP
            Gimp.progress_update(total)
            self.shown = total


def missing_numpy_message():
    platform = next((key for key in NUMPY_HELP if sys.platform.startswith(key)), "linux")
    return (
        f"K-Means Quantize needs numpy, which GIMP's Python ({sys.executable}) cannot import "
        f"({MISSING}). " + NUMPY_HELP[platform].format(python=sys.executable)
    )


def check_layers(image, drawables):
    """The drawables as layers, or a UserError naming why they cannot be quantized."""
    if image.get_base_type() == Gimp.ImageBaseType.INDEXED:
        raise UserError(
            "K-Means Quantize works on RGB and grayscale images; this image is indexed "
            "(convert it with Image > Mode > RGB first).",
            Gimp.PDBStatusType.CALLING_ERROR,
        )
    if not drawables:
        raise UserError("Select at least one layer to quantize.", Gimp.PDBStatusType.CALLING_ERROR)
    for drawable in drawables:
        if drawable.is_layer_mask() or drawable.is_channel():
            kind = "a layer mask" if drawable.is_layer_mask() else "a channel"
            raise UserError(
                f"K-Means Quantize works on layers; '{drawable.get_name()}' is {kind}.",
                Gimp.PDBStatusType.CALLING_ERROR,
            )
        if drawable.is_group():
            raise UserError(
                f"'{drawable.get_name()}' is a layer group; select the layers inside it, "
                "or merge the group first.",
                Gimp.PDBStatusType.CALLING_ERROR,
            )
    return list(drawables)


def pixel_format(image):
    """(babl format name, numpy dtype) to read and write this image's layers with, alpha included."""
    component = image.get_precision().value_nick.split("-")[0]
    babl_type, dtype = COMPONENTS.get(component, FLOAT_COMPONENT)
    model = "R'G'B'A" if image.get_base_type() == Gimp.ImageBaseType.RGB else "Y'A"
    return f"{model} {babl_type}", np.dtype(dtype)


class LayerPixels:
    """One layer's pixels (with alpha) and the selection's coverage of it (None: no selection)."""

    def __init__(self, image, layer, babl_format, dtype):
        self.layer = layer
        self.width, self.height = layer.get_width(), layer.get_height()
        _, self.x, self.y = layer.get_offsets()
        self.pixels = self._read(layer.get_buffer(), 0, 0, babl_format, dtype)
        if dtype.kind == "f":
            # Float images may hold values outside 0..1 (or NaN); the quantizer takes 0..1.
            self.pixels = np.nan_to_num(np.clip(self.pixels, 0.0, 1.0), copy=False)
        self.coverage = None
        if not Gimp.Selection.is_empty(image):
            selection = image.get_selection().get_buffer()
            self.coverage = self._read(selection, self.x, self.y, "Y float", np.dtype("float32"))[..., 0]
        self.mask = None if self.coverage is None else self.coverage > 0
        if self.mask is not None and not self.mask.any():
            raise UserError(f"No pixel to quantize: the selection lies outside layer '{layer.get_name()}'.")
        visible = self.pixels[..., -1] > 0
        if not (visible if self.mask is None else visible & self.mask).any():
            where = " inside the selection" if self.mask is not None else ""
            raise UserError(f"No pixel to quantize: layer '{layer.get_name()}' is fully transparent{where}.")

    def _read(self, buffer, x, y, babl_format, dtype):
        rect = Gegl.Rectangle.new(x, y, self.width, self.height)
        data = buffer.get(rect, 1.0, babl_format, Gegl.AbyssPolicy.NONE)
        return np.frombuffer(data, dtype).reshape(self.height, self.width, -1).copy()

    def finish(self, quantized):
        """The new layer's pixels: quantized inside the selection, transparent outside it."""
        if self.coverage is None:
            return quantized
        alpha = quantized[..., -1]
        if quantized.dtype.kind == "u":
            scaled = np.rint(alpha * self.coverage.astype(np.float64))
        else:
            scaled = alpha * self.coverage
        quantized[..., -1] = scaled.astype(quantized.dtype)
        quantized[~self.mask] = 0
        return quantized


def settings(config):
    """The quantizer's keyword arguments from the procedure's config."""
    return {
        "n_colors": config.get_property("n-colors"),
        "color_space": config.get_property("color-space"),
        "init": config.get_property("init"),
        "seed": config.get_property("seed"),
        "max_iter": config.get_property("max-iterations"),
    }


def quantize_layers(layers, options, dither, shared, progress):
    """Quantized pixels and the palette for each layer (one palette for all when ``shared``)."""
    if shared and len(layers) > 1:
        progress.layer = 0
        palette = kmeans_quantize.fit_palette(
            [layer.pixels for layer in layers],
            mask=[layer.mask for layer in layers],
            progress=progress.stage,
            **options,
        )
        results = []
        for index, layer in enumerate(layers):
            progress.layer = index
            progress.stage("mapping")
            image = kmeans_quantize.apply_palette(layer.pixels, palette, layer.mask, dither=dither)
            results.append((layer.finish(image), palette))
        return results
    results = []
    for index, layer in enumerate(layers):
        progress.layer = index
        result = kmeans_quantize.quantize(
            layer.pixels, mask=layer.mask, dither=dither, progress=progress.stage, **options
        )
        results.append((layer.finish(result.image), result.palette))
    return results


def insert_layer(image, source, pixels, babl_format, n_colors):
    """A new layer above ``source`` holding ``pixels``: same parent, size and offsets."""
    if image.get_base_type() == Gimp.ImageBaseType.RGB:
        layer_type = Gimp.ImageType.RGBA_IMAGE
    else:
        layer_type = Gimp.ImageType.GRAYA_IMAGE
    name = f"{source.get_name()} (K-Means {n_colors})"
    layer = Gimp.Layer.new(
        image, name, source.get_width(), source.get_height(), layer_type, 100.0, Gimp.LayerMode.NORMAL
    )
    image.insert_layer(layer, source.get_parent(), image.get_item_position(source))
    _, x, y = source.get_offsets()
    layer.set_offsets(x, y)
    buffer = layer.get_buffer()
    buffer.set(Gegl.Rectangle.new(0, 0, layer.get_width(), layer.get_height()), babl_format, pixels.tobytes())
    buffer.flush()
    layer.update(0, 0, layer.get_width(), layer.get_height())
    return layer


def create_palette(name, palette, is_rgb):
    """A GIMP palette resource with ``palette``'s colours, most frequent first."""
    resource = Gimp.Palette.new(name)
    unit = to_unit(palette.colors, palette.colors.dtype)
    babl_format = Babl.format("R'G'B' double" if is_rgb else "Y' double")
    for color, label in zip(unit, entry_names(palette), strict=True):
        entry = Gegl.Color.new("black")
        entry.set_bytes(babl_format, GLib.Bytes.new(color.tobytes()))
        resource.add_entry(label, entry)
    return resource


def quantize_image(image, drawables, config):
    """The whole run: check, read, quantize, then write new layers in one undo group."""
    if MISSING is not None:
        if getattr(MISSING, "name", None) == "numpy":
            raise UserError(missing_numpy_message())
        raise UserError(
            f"K-Means Quantize is not installed completely ({MISSING}); "
            "re-run 'python gimp_plugin/install.py' from the kmeans-quantize sources."
        )
    layers = check_layers(image, drawables)
    options = settings(config)
    dither = config.get_property("dither")
    shared = config.get_property("shared-palette")
    babl_format, dtype = pixel_format(image)

    Gimp.progress_init(f"K-Means Quantize: {options['n_colors']} colors")
    progress = Progress(len(layers))
    sources = []
    for index, layer in enumerate(layers):
        progress.layer = index
        progress.stage("read")
        sources.append(LayerPixels(image, layer, babl_format, dtype))
    results = quantize_layers(sources, options, dither, shared, progress)

    # Everything that can fail for a user's reason has failed by now: only now touch the image.
    image.undo_group_start()
    added = []
    try:
        for source, (pixels, _) in zip(sources, results, strict=True):
            added.append(insert_layer(image, source.layer, pixels, babl_format, options["n_colors"]))
    except Exception:
        for layer in added:
            image.remove_layer(layer)
        raise
    finally:
        image.undo_group_end()
    Gimp.progress_update(1.0)

    if config.get_property("create-palette"):
        is_rgb = image.get_base_type() == Gimp.ImageBaseType.RGB
        base = f"{image.get_name()} (K-Means {options['n_colors']})"
        if shared or len(sources) == 1:
            create_palette(base, results[0][1], is_rgb)
        else:
            for source, (_, palette) in zip(sources, results, strict=True):
                create_palette(f"{base} {source.layer.get_name()}", palette, is_rgb)
    Gimp.progress_end()
    Gimp.displays_flush()


def show_dialog(procedure, config):
    """The settings dialog; True when the user pressed OK."""
    GimpUi.init(PROCEDURE)
    dialog = GimpUi.ProcedureDialog.new(procedure, config, "K-Means Quantize")
    dialog.fill(None)
    accepted = dialog.run()
    dialog.destroy()
    return accepted


def run(procedure, run_mode, image, drawables, config, run_data):
    """The procedure's run function: never lets an exception escape (GIMP would lose the message)."""
    try:
        if run_mode == Gimp.RunMode.INTERACTIVE and not show_dialog(procedure, config):
            return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
        quantize_image(image, drawables, config)
    except Exception as error:  # noqa: BLE001 - every failure becomes an error status with its text
        if isinstance(error, UserError):
            status, message = error.status, str(error)
        else:
            status = Gimp.PDBStatusType.EXECUTION_ERROR
            message = f"K-Means Quantize failed: {type(error).__name__}: {error}"
        if run_mode == Gimp.RunMode.INTERACTIVE:
            Gimp.message(message)
        return procedure.new_return_values(status, GLib.Error(message))
    return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())


#: Options of the choice arguments: (nick, label, help).
COLOR_SPACES = [
    ("rgb", "RGB", "Smallest error in sRGB values"),
    ("lab", "CIELAB", "Perceived differences (CIE L*a*b*): best on photos"),
    ("oklab", "Oklab", "Perceived differences (Oklab)"),
]

INITS = [
    ("k-means++", "k-means++", "Spread out, weighted by pixel count"),
    ("random", "Random", "K distinct colors of the layer drawn at random"),
]

DITHERS = [
    ("none", "None", "Each pixel takes its nearest palette color"),
    ("floyd-steinberg", "Floyd-Steinberg", "Error diffusion: smooth gradients"),
    ("ordered", "Ordered (Bayer 8x8)", "Regular pattern; stable between similar frames"),
]


def add_choice(procedure, name, label, blurb, choices, default):
    choice = Gimp.Choice.new()
    for index, (nick, text, help_text) in enumerate(choices):
        choice.add(nick, index, text, help_text)
    procedure.add_choice_argument(name, label, blurb, choice, default, GObject.ParamFlags.READWRITE)


class KMeansQuantize(Gimp.PlugIn):
    """Declares the procedure ``plug-in-kmeans-quantize``."""

    def do_set_i18n(self, name):
        return False

    def do_query_procedures(self):
        return [PROCEDURE]

    def do_create_procedure(self, name):
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, run, None)
        procedure.set_image_types("RGB*, GRAY*")
        procedure.set_sensitivity_mask(
            Gimp.ProcedureSensitivityMask.DRAWABLE | Gimp.ProcedureSensitivityMask.DRAWABLES
        )
        procedure.set_menu_label("K-Means _Quantize...")
        procedure.add_menu_path("<Image>/Filters/Colors")
        procedure.set_documentation(
            "Reduce layers to K colors chosen by k-means clustering",
            "Adds above each selected layer a copy reduced to at most K colors, chosen by k-means "
            "clustering of the layer's colors (only the selected, non-transparent pixels). "
            "The source layer is not changed.",
            name,
        )
        procedure.set_attribution("kmeans-quantize developers", "kmeans-quantize developers", "2026")
        flags = GObject.ParamFlags.READWRITE
        procedure.add_int_argument("n-colors", "_Number of colors", "Number of colors K", 2, 256, 8, flags)
        add_choice(
            procedure,
            "color-space",
            "Color s_pace",
            "Space the clustering measures color differences in",
            COLOR_SPACES,
            "lab",
        )
        add_choice(procedure, "init", "_Initial colors", "How the k-means centres start", INITS, "k-means++")
        procedure.add_int_argument(
            "seed", "S_eed", "Random seed: the same settings give the same result", 0, 2**31 - 1, 0, flags
        )
        procedure.add_int_argument(
            "max-iterations", "_Max iterations", "Maximum k-means iterations", 1, 1000, 300, flags
        )
        add_choice(
            procedure,
            "dither",
            "_Dithering",
            "How pixels are mapped to the palette",
            DITHERS,
            "floyd-steinberg",
        )
        procedure.add_boolean_argument(
            "create-palette",
            "Crea_te palette",
            "Also add the colors as a GIMP palette, most frequent first",
            False,
            flags,
        )
        procedure.add_boolean_argument(
            "shared-palette",
            "Share palette across la_yers",
            "With several layers selected, fit one palette over all of them",
            False,
            flags,
        )
        return procedure


Gimp.main(KMeansQuantize.__gtype__, sys.argv)
