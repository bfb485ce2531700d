#!/usr/bin/env python3
"""K-Means Quantize, a GIMP 3 plug-in: Filters > Colors > K-Means Quantize...

Reduces each selected layer to K colours chosen by k-means clustering and puts
the result in a new layer directly above it; the source layer is not touched.
This file is glue only: it reads the layer's pixels, calls the
``kmeans_quantize`` package (copied beside this file by
``gimp_plugin/install.py``) and writes a new layer. Scripts call it as the PDB
procedure ``plug-in-kmeans-quantize``.
"""

import json
import os
import sys
import threading
import time

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
gi.require_version("Babl", "0.1")
from gi.repository import Babl, Gegl, Gimp, GLib, GObject  # noqa: E402

PROCEDURE = "plug-in-kmeans-quantize"

try:
    from kmeans_quantize.engines import choose_engine

    ENGINE = choose_engine()  # numpy where GIMP's Python has it, else the numpy-free engine
    if ENGINE == "numpy":
        import kmeans_quantize
        import numpy as np
        from kmeans_quantize.palette_io import entry_names
        from kmeans_quantize.pixels import to_rgb8, to_unit
        from kmeans_quantize.quantize import remap
    else:
        from kmeans_quantize import pure_layers
        from kmeans_quantize.pure_dither import dither_labels, paint
        from kmeans_quantize.pure_quantize import apply_coverage, taking_part
except (
    ImportError,
    ValueError,
) as error:  # reported when the procedure runs, so the menu entry still appears
    MISSING = error
else:
    MISSING = None

# Stored formats by GIMP precision for the numpy engine: 8- and 16-bit images are read as they
# are stored, every other precision (32-bit integer, half, float, double) as 32-bit float. The
# numpy-free engine reads every precision as 8-bit. The "'" formats are sRGB-encoded, which is
# what kmeans_quantize expects.
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


def model(image):
    """The babl colour model (with alpha) to read and write this image's layers in."""
    return "R'G'B'A" if image.get_base_type() == Gimp.ImageBaseType.RGB else "Y'A"


def read_layer(image, layer, babl_format, coverage_format, scale=1.0):
    """(pixel bytes, coverage bytes or None without a selection, width, height) of ``layer``,
    scaled down by GEGL when ``scale`` < 1 (the dialog's preview)."""
    width, height = max(1, round(layer.get_width() * scale)), max(1, round(layer.get_height() * scale))
    abyss = Gegl.AbyssPolicy.NONE if scale == 1.0 else Gegl.AbyssPolicy.CLAMP
    pixels = layer.get_buffer().get(Gegl.Rectangle.new(0, 0, width, height), scale, babl_format, abyss)
    coverage = None
    if not Gimp.Selection.is_empty(image):
        _, x, y = layer.get_offsets()
        rect = Gegl.Rectangle.new(round(x * scale), round(y * scale), width, height)
        coverage = image.get_selection().get_buffer().get(rect, scale, coverage_format, Gegl.AbyssPolicy.NONE)
    return pixels, coverage, width, height


def check_pixels_left(layer, selected, visible):
    """A UserError when nothing of ``layer`` is selected (``selected`` False) or visible there."""
    if not selected:
        raise UserError(f"No pixel to quantize: the selection lies outside layer '{layer.get_name()}'.")
    if not visible:
        where = " inside the selection" if not Gimp.Selection.is_empty(layer.get_image()) else ""
        raise UserError(f"No pixel to quantize: layer '{layer.get_name()}' is fully transparent{where}.")


class Quantized:
    """One layer's result: the new layer's pixel bytes, its palette's GIMP entries and its
    ``swatches`` (8-bit RGB bytes and pixel count of each colour, for the preview); for an indexed
    image also the palette as 8-bit RGB bytes (``colormap``) and each pixel's palette index and
    alpha as byte pairs (``indexed``; index 0 and alpha 0 where the layer is clear)."""

    def __init__(self, data, entries, swatches):
        self.data = data
        self.entries = entries
        self.swatches = swatches
        self.colormap = None
        self.indexed = None


def check_opaque_or_clear(layer, n_partial):
    """A UserError when ``n_partial`` pixels of the result would be partly transparent."""
    if n_partial:
        raise UserError(
            f"An indexed image keeps no partial transparency, but {n_partial} pixels of "
            f"'{layer.get_name()}' would be partly transparent (soft alpha or a feathered "
            "selection). Choose the output 'new-layer', or make those pixels opaque or clear first."
        )


class NumpyEngine:
    """The numpy engine: every precision kept, numpy's dithering in the clustering space."""

    name = "numpy"
    coverage_dtype = "float32"  # "Y float"

    def __init__(self, image, eight_bit=False):
        component = "u8" if eight_bit else image.get_precision().value_nick.split("-")[0]
        babl_type, dtype = COMPONENTS.get(component, FLOAT_COMPONENT)
        self.babl_format = f"{model(image)} {babl_type}"
        self.dtype = np.dtype(dtype)

    def read(self, image, layer, scale=1.0):
        pixels, coverage, width, height = read_layer(image, layer, self.babl_format, "Y float", scale)
        return NumpyLayer(layer, pixels, coverage, width, height, self.dtype)

    def quantize(self, layers, options, dither, shared, progress, indexed=False):
        """A :class:`Quantized` per layer; with ``indexed``, also the indexed image's data."""
        if shared and len(layers) > 1:
            progress.layer = 0
            palette = kmeans_quantize.fit_palette(
                [layer.pixels for layer in layers],
                mask=[layer.mask for layer in layers],
                progress=progress.stage,
                **options,
            )
            mapped = []
            for index, layer in enumerate(layers):
                progress.layer = index
                progress.stage("mapping")
                mapped.append((*remap(layer.pixels, palette, layer.mask, dither=dither), palette))
        else:
            mapped = []
            for index, layer in enumerate(layers):
                progress.layer = index
                result = kmeans_quantize.quantize(
                    layer.pixels, mask=layer.mask, dither=dither, progress=progress.stage, **options
                )
                mapped.append((result.image, result.labels, result.palette))
        out = []
        for layer, (image, labels, palette) in zip(layers, mapped, strict=True):
            image = layer.finish(image)
            rgb = to_rgb8(palette.colors)
            swatches = list(zip([color.tobytes() for color in rgb], palette.counts.tolist(), strict=True))
            quantized = Quantized(image.tobytes(), self.entries(palette), swatches)
            if indexed:
                full = 1.0 if image.dtype.kind == "f" else np.iinfo(image.dtype).max
                alpha = image[..., -1]
                check_opaque_or_clear(layer.layer, int(((alpha > 0) & (alpha < full)).sum()))
                quantized.colormap = rgb.tobytes()
                outside = labels < 0
                pairs = np.stack([np.where(outside, 0, labels), np.where(outside, 0, 255)], axis=-1)
                quantized.indexed = pairs.astype(np.uint8).tobytes()
            out.append(quantized)
        return out

    @staticmethod
    def entries(palette):
        """(name, babl format, colour bytes) of each palette colour, most frequent first."""
        unit = to_unit(palette.colors, palette.colors.dtype)
        babl_format = "R'G'B' double" if unit.shape[1] == 3 else "Y' double"
        return [
            (label, babl_format, color.tobytes())
            for color, label in zip(unit, entry_names(palette), strict=True)
        ]


class NumpyLayer:
    """One layer's pixels (with alpha) and the selection's coverage of it (None: no selection)."""

    def __init__(self, layer, pixels, coverage, width, height, dtype):
        self.layer = layer
        self.width, self.height = width, height
        self.raw, self.raw_coverage = pixels, coverage  # as read, for the preview's test log
        self.pixels = np.frombuffer(pixels, dtype).reshape(height, width, -1).copy()
        if dtype.kind == "f":
            # Float images may hold values outside 0..1 (or NaN); the quantizer takes 0..1.
            self.pixels = np.nan_to_num(np.clip(self.pixels, 0.0, 1.0), copy=False)
        self.coverage = (
            None if coverage is None else np.frombuffer(coverage, np.float32).reshape(height, width)
        )
        self.mask = None if self.coverage is None else self.coverage > 0
        visible = self.pixels[..., -1] > 0
        check_pixels_left(
            layer,
            self.mask is None or self.mask.any(),
            (visible if self.mask is None else visible & self.mask).any(),
        )

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


class PureEngine:
    """The numpy-free engine: 8 bits per channel whatever the image's precision."""

    name = "numpy-free"
    coverage_dtype = "uint8"  # "Y u8"

    def __init__(self, image):
        self.babl_format = f"{model(image)} u8"
        self.opaque_format = self.babl_format.replace("A ", " ")  # "R'G'B' u8", "Y' u8"
        self.gray = image.get_base_type() == Gimp.ImageBaseType.GRAY

    def read(self, image, layer, scale=1.0):
        # A layer without alpha is read without it, in the format an 8-bit sRGB layer is stored
        # in: GEGL then copies its bytes and babl converts nothing (pure_layers.with_alpha).
        source_format = self.babl_format if layer.has_alpha() else self.opaque_format
        pixels, coverage, width, height = read_layer(image, layer, source_format, "Y u8", scale)
        pixels = pure_layers.with_alpha(pixels, source_format)
        keep = taking_part(pixels, self.babl_format, coverage)
        check_pixels_left(
            layer, coverage is None or coverage.count(0) < len(coverage), keep.count(0) < len(keep)
        )
        return PureLayer(layer, pure_layers.LayerBytes(pixels, width, height, coverage))

    def quantize(self, layers, options, dither, shared, progress, indexed=False):
        """A :class:`Quantized` per layer; with ``indexed``, also the indexed image's data."""
        progress.layer = 0
        results = pure_layers.quantize_layers(
            [layer.data for layer in layers],
            self.babl_format,
            options["n_colors"],
            shared=shared,
            color_space=options["color_space"],
            init=options["init"],
            seed=options["seed"],
            max_iter=options["max_iter"],
            labels=indexed,
            progress=progress.stage,
        )
        out = []
        for index, (layer, result) in enumerate(zip(layers, results, strict=True)):
            progress.layer = index if not shared else 0
            data = layer.data
            pixels, labels = result.pixels, result.labels
            if dither != "none":
                labels = dither_labels(
                    data,
                    self.babl_format,
                    result.palette,
                    dither,
                    progress=lambda fraction: progress.stage("mapping", fraction),
                )
                pixels = paint(data.pixels, self.babl_format, result.palette, labels)
            if data.coverage is not None:
                pixels = apply_coverage(pixels, data.coverage, self.babl_format)
            rgb = [bytes(color * 3 if self.gray else color) for color in result.palette.colors]
            quantized = Quantized(
                pixels, self.entries(result.palette), list(zip(rgb, result.palette.counts, strict=True))
            )
            if indexed:
                alpha = pixels[1::2] if self.gray else pixels[3::4]
                check_opaque_or_clear(layer.layer, len(alpha) - alpha.count(0) - alpha.count(255))
                quantized.colormap = b"".join(rgb)
                pairs = bytearray(2 * len(labels))
                pairs[0::2] = bytes(label if label >= 0 else 0 for label in labels)
                pairs[1::2] = bytes(255 if label >= 0 else 0 for label in labels)
                quantized.indexed = bytes(pairs)
            out.append(quantized)
        return out

    def entries(self, palette):
        """(name, babl format, colour bytes) of each palette colour, most frequent first."""
        babl_format = "Y' u8" if self.gray else "R'G'B' u8"
        names = pure_layers.entry_names(palette)
        return [(name, babl_format, bytes(color)) for name, color in zip(names, palette.colors, strict=True)]


class PureLayer:
    """One layer and its bytes for the numpy-free engine."""

    def __init__(self, layer, data):
        self.layer = layer
        self.data = data
        self.raw, self.raw_coverage = data.pixels, data.coverage  # as read, for the preview's test log


def settings(config):
    """The quantizer's keyword arguments from the procedure's config."""
    return {
        "n_colors": config.get_property("n-colors"),
        "color_space": config.get_property("color-space"),
        "init": config.get_property("init"),
        "seed": config.get_property("seed"),
        "max_iter": config.get_property("max-iterations"),
    }


def insert_layer(image, source, data, babl_format, n_colors):
    """A new layer above ``source`` holding the pixel bytes ``data``: same parent, size and offsets."""
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
    buffer.set(Gegl.Rectangle.new(0, 0, layer.get_width(), layer.get_height()), babl_format, data)
    buffer.flush()
    layer.update(0, 0, layer.get_width(), layer.get_height())
    return layer


def add_entry(palette, name, babl_format, color_bytes):
    entry = Gegl.Color.new("black")
    entry.set_bytes(Babl.format(babl_format), GLib.Bytes.new(color_bytes))
    palette.add_entry(name, entry)


def create_palette(name, entries):
    """A GIMP palette resource with the given (name, babl format, colour bytes) entries."""
    resource = Gimp.Palette.new(name)
    for entry in entries:
        add_entry(resource, *entry)
    return resource


def quantize_image(image, drawables, config):
    """The whole run: check, read, quantize, then write new layers in one undo group, or make a
    new indexed image. Returns that image, or None."""
    if MISSING is not None:
        raise UserError(
            f"K-Means Quantize is not installed completely ({MISSING}); "
            "re-run 'python gimp_plugin/install.py' from the kmeans-quantize sources."
            if isinstance(MISSING, ImportError)
            else f"K-Means Quantize cannot start: {MISSING}"
        )
    layers = check_layers(image, drawables)
    options = settings(config)
    dither = config.get_property("dither")
    shared = config.get_property("shared-palette")
    indexed = config.get_property("output") == "indexed-image"
    if indexed and len(layers) > 1 and not shared:
        raise UserError(
            "An indexed image has one palette: with several layers selected, turn on "
            "'Share palette across layers', or quantize one layer at a time.",
            Gimp.PDBStatusType.CALLING_ERROR,
        )
    engine = NumpyEngine(image) if ENGINE == "numpy" else PureEngine(image)

    Gimp.progress_init(f"K-Means Quantize: {options['n_colors']} colors ({engine.name} engine)")
    progress = Progress(len(layers))
    sources = []
    for index, layer in enumerate(layers):
        progress.layer = index
        progress.stage("read")
        sources.append(engine.read(image, layer))
    results = engine.quantize(sources, options, dither, shared, progress, indexed)

    # Everything that can fail for a user's reason has failed by now: only now change anything.
    new_image = None
    if indexed:
        new_image = indexed_image(image, sources, results, options["n_colors"])
    else:
        image.undo_group_start()
        added = []
        try:
            for source, result in zip(sources, results, strict=True):
                added.append(
                    insert_layer(image, source.layer, result.data, engine.babl_format, options["n_colors"])
                )
        except Exception:
            for layer in added:
                image.remove_layer(layer)
            raise
        finally:
            image.undo_group_end()
    Gimp.progress_update(1.0)

    if config.get_property("create-palette"):
        base = f"{image.get_name()} (K-Means {options['n_colors']})"
        if shared or len(sources) == 1:
            create_palette(base, results[0].entries)
        else:
            for source, result in zip(sources, results, strict=True):
                create_palette(f"{base} {source.layer.get_name()}", result.entries)
    Gimp.progress_end()
    Gimp.displays_flush()
    return new_image


def indexed_image(image, sources, results, n_colors):
    """A new image in indexed mode, the size of ``image``, whose colour map is the (shared)
    palette and whose layers, one per source layer and in the same order, hold exactly the
    quantized pixels' palette indices (clear where the new layer would be)."""
    new = Gimp.Image.new(image.get_width(), image.get_height(), Gimp.ImageBaseType.INDEXED)
    try:
        colormap = results[0].colormap
        palette = Gimp.Palette.new("K-Means Quantize colour map")
        try:
            for start in range(0, len(colormap), 3):
                add_entry(palette, "", "R'G'B' u8", colormap[start : start + 3])
            new.set_palette(palette)  # the image takes a copy
        finally:
            palette.delete()
        new.undo_disable()
        for source, result in reversed(list(zip(sources, results, strict=True))):
            width, height = source.layer.get_width(), source.layer.get_height()
            name = f"{source.layer.get_name()} (K-Means {n_colors})"
            layer = Gimp.Layer.new(
                new, name, width, height, Gimp.ImageType.INDEXEDA_IMAGE, 100.0, Gimp.LayerMode.NORMAL
            )
            new.insert_layer(layer, None, 0)
            _, x, y = source.layer.get_offsets()
            layer.set_offsets(x, y)
            buffer = layer.get_buffer()
            # The layer's own format: palette index and alpha, one byte each, no conversion.
            buffer.set(
                Gegl.Rectangle.new(0, 0, width, height), Babl.get_name(layer.get_format()), result.indexed
            )
            buffer.flush()
        new.undo_enable()
    except Exception:
        new.delete()
        raise
    return new


#: The preview fits in this many pixels a side; it is recomputed this long after the last change.
PREVIEW_SIZE = 360
PREVIEW_DELAY_MS = 150
#: Set by the GIMP test suite: a file to which each finished preview appends one JSON line.
PREVIEW_LOG = os.environ.get("KMQ_PREVIEW_LOG")


class Restart(Exception):
    """The settings changed (or the dialog closed) while a preview was computed: drop it."""


class Preview:
    """The dialog's preview: the first layer scaled to fit :data:`PREVIEW_SIZE`, read once,
    quantized with the dialog's settings by the engine of the run, drawn over GIMP's checks,
    with a strip of the palette's colours, each as wide as its share of the pixels.

    The computation runs in a worker thread, so the dialog keeps handling events (GTK's own
    work needs no Python lock, and the thread yields it every few milliseconds); the worker
    touches neither GTK nor GIMP, and hands its result to the main loop with ``GLib.idle_add``.
    Its progress callback raises :class:`Restart` when a setting changed since it started (or
    the dialog closed), so a change during a computation starts it again. In the main loop
    processing events in between stages, as a first version did, froze the dialog for
    seconds with the numpy-free engine, whose seeding reports no progress
    (benchmarks/results/gimp_preview.md).
    """

    def __init__(self, dialog, config, image, layer):
        self.config = config
        self.engine = NumpyEngine(image, eight_bit=True) if ENGINE == "numpy" else PureEngine(image)
        self.gray = image.get_base_type() == Gimp.ImageBaseType.GRAY
        scale = min(1.0, PREVIEW_SIZE / max(layer.get_width(), layer.get_height()))
        self.source, self.problem = None, None
        try:
            self.source = self.engine.read(image, layer, scale)
        except UserError as error:
            self.problem = str(error)
        width = max(1, round(layer.get_width() * scale))
        height = max(1, round(layer.get_height() * scale))
        self.size = (width, height)
        GimpUi, Gtk = ui_modules()
        self.area = GimpUi.PreviewArea.new()
        self.area.set_size_request(width, height)
        self.strip = GimpUi.PreviewArea.new()
        self.strip.set_size_request(width, 16)
        self.label = Gtk.Label(label="")
        self.label.set_xalign(0.0)
        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=4)
        box.set_border_width(12)
        for widget in (self.area, self.strip):
            # Its own size, not the dialog's width; at the left, where it stays when the dialog
            # widens for a longer label.
            widget.set_halign(Gtk.Align.START)
        for widget in (self.area, self.strip, self.label):
            box.pack_start(widget, False, False, 0)
        dialog.get_content_area().pack_start(box, False, False, 0)
        box.show_all()
        self.generation = 0
        self.timer = None
        self.worker = None
        self.heartbeat = None
        self.closed = False
        self.dialog = dialog
        self.shown = None  # the last result drawn
        # A preview area forgets its pixels when it is (re)allocated, which happens after the
        # first preview on a new dialog: draw again then.
        self.area.connect_after("size-allocate", self.redraw)
        self.strip.connect_after("size-allocate", self.redraw)
        self.handler = config.connect("notify", self.changed)
        dialog.connect("response", self.responded)
        self.schedule()

    def redraw(self, widget, allocation):
        if self.shown is not None:
            self.draw(self.shown)

    def responded(self, dialog, response):
        self.closed = True  # OK or Cancel during a computation: stop it at once

    def changed(self, config, spec):
        self.generation += 1  # a computation under way sees it and restarts
        self.schedule()

    def schedule(self):
        if self.timer is not None:
            GLib.source_remove(self.timer)
        self.timer = GLib.timeout_add(PREVIEW_DELAY_MS, self.update)

    def close(self):
        self.closed = True  # a computation under way stops at its next progress call
        self.config.disconnect(self.handler)
        if self.timer is not None:
            GLib.source_remove(self.timer)
            self.timer = None
        if self.heartbeat is not None:
            self.heartbeat.stop()

    def update(self):
        """The timer's callback: start a computation; False stops the timer."""
        if self.worker is not None and self.worker.is_alive():
            return True  # a stale computation is stopping (Restart): try again in a moment
        self.timer = None
        if not self.config.get_property("preview"):
            self.label.set_text("Preview off")
            return False
        if self.problem is not None:
            self.label.set_text(self.problem)
            return False
        self.label.set_text("Computing the preview...")
        options = settings(self.config)
        dither = self.config.get_property("dither")
        if self.heartbeat is not None:
            self.heartbeat.stop()  # that of a computation that restarted
        self.heartbeat = Heartbeat()
        self.worker = threading.Thread(
            target=self.compute, args=(self.generation, options, dither), daemon=True
        )
        self.worker.start()
        return False

    def compute(self, generation, options, dither):
        """In the worker thread: quantize the reduced copy, then hand over to :meth:`finished`."""
        progress = PreviewProgress(lambda: self.closed or generation != self.generation)
        start = time.perf_counter()
        try:
            result = self.engine.quantize([self.source], options, dither, False, progress)[0]
            problem = None
        except Restart:
            return
        except UserError as error:
            result, problem = None, str(error)
        except Exception as error:  # noqa: BLE001 - shown in the dialog; the run reports it properly
            result, problem = None, f"The preview failed: {type(error).__name__}: {error}"
        seconds = time.perf_counter() - start
        GLib.idle_add(self.finished, generation, result, problem, seconds, options, dither)

    def finished(self, generation, result, problem, seconds, options, dither):
        """In the main loop: draw a computation's result unless the settings changed since."""
        longest = self.heartbeat.stop()
        if self.closed or generation != self.generation:
            return False
        if problem is not None:
            self.label.set_text(problem)
            return False
        self.draw(result)
        self.label.set_text(
            f"{len(result.swatches)} colors; preview of a {self.size[0]}x{self.size[1]} copy "
            f"({seconds:.2f} s, {self.engine.name} engine)"
        )
        if PREVIEW_LOG:
            self.log(options, dither, result, seconds, longest)
        return False

    def draw(self, result):
        self.shown = result
        width, height = self.size
        kind = Gimp.ImageType.GRAYA_IMAGE if self.gray else Gimp.ImageType.RGBA_IMAGE
        self.area.draw(0, 0, width, height, kind, result.data, width * (2 if self.gray else 4))
        total = sum(count for _, count in result.swatches) or 1
        row, done = bytearray(), 0
        for color, count in result.swatches:
            done += count
            row += color * (round(width * done / total) - len(row) // 3)
        self.strip.draw(0, 0, width, 16, Gimp.ImageType.RGB_IMAGE, bytes(row) * 16, width * 3)

    def log(self, options, dither, result, seconds, longest):
        """For the GIMP test suite: what was drawn, from what, with which settings."""
        number = sum(1 for _ in open(PREVIEW_LOG)) if os.path.exists(PREVIEW_LOG) else 0
        base = f"{PREVIEW_LOG}-{number}"
        with open(f"{base}-proxy.raw", "wb") as proxy, open(f"{base}-preview.raw", "wb") as preview:
            proxy.write(self.source.raw)
            preview.write(result.data)
        if self.source.raw_coverage is not None:
            with open(f"{base}-coverage.raw", "wb") as coverage:
                coverage.write(self.source.raw_coverage)
        origin = self.area.translate_coordinates(self.dialog, 0, 0)
        entry = {
            **options,
            "dither": dither,
            "size": self.size,
            "origin": list(origin[-2:]) if origin else None,  # in the dialog window, for screenshots
            "channels": 2 if self.gray else 4,
            # the selection's coverage as read (None: no selection): float 0-1 or 8-bit, by engine
            "coverage": None if self.source.raw_coverage is None else self.engine.coverage_dtype,
            "files": base,
            "seconds": seconds,
            "longest_pause": longest,
        }
        with open(PREVIEW_LOG, "a") as log:
            log.write(json.dumps(entry) + "\n")


class PreviewProgress:
    """The progress object the engines expect, for a preview computed in a worker thread: it
    raises :class:`Restart` when ``stale()`` says the computation is no longer wanted."""

    def __init__(self, stale):
        self.stale = stale
        self.layer = 0

    def stage(self, name, fraction=0.0):
        if self.stale():
            raise Restart


class Heartbeat:
    """How long the dialog's main loop went without running a Python callback, at most, while a
    preview was computed: a 10 ms timer notes the gaps between its calls."""

    TICK_MS = 10

    def __init__(self):
        self.last = time.perf_counter()
        self.longest = 0.0
        self.source = GLib.timeout_add(self.TICK_MS, self.tick)

    def tick(self):
        now = time.perf_counter()
        self.longest = max(self.longest, now - self.last)
        self.last = now
        return True

    def stop(self):
        """The longest gap (seconds), up to now; the timer stops (once)."""
        if self.source is not None:
            self.tick()
            GLib.source_remove(self.source)
            self.source = None
        return self.longest


def ui_modules():
    """GimpUi and Gtk, imported when a dialog is shown: a script's run shows none and saves
    their import, 0.02 s of the 0.07 s that importing gi's modules takes (GIMP 3.0.4)."""
    gi.require_version("GimpUi", "3.0")
    gi.require_version("Gtk", "3.0")
    from gi.repository import GimpUi, Gtk

    return GimpUi, Gtk


def show_dialog(procedure, config, image, drawables):
    """The settings dialog with its preview; True when the user pressed OK."""
    GimpUi, _ = ui_modules()
    GimpUi.init(PROCEDURE)
    dialog = GimpUi.ProcedureDialog.new(procedure, config, "K-Means Quantize")
    names = [spec.name for spec in procedure.get_arguments()]
    dialog.fill([name for name in names if name not in ("run-mode", "image", "drawables")] + ["preview"])
    preview = None
    layers = [drawable for drawable in drawables if drawable.is_layer() and not drawable.is_group()]
    if layers and image.get_base_type() != Gimp.ImageBaseType.INDEXED:
        preview = Preview(dialog, config, image, layers[0])
    accepted = dialog.run()
    if preview is not None:
        preview.close()
    dialog.destroy()
    return accepted


def run(procedure, run_mode, image, drawables, config, run_data):
    """The procedure's run function: never lets an exception escape (GIMP would lose the message)."""
    try:
        if run_mode == Gimp.RunMode.INTERACTIVE and not show_dialog(procedure, config, image, drawables):
            return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
        new_image = quantize_image(image, drawables, config)
    except Exception as error:  # noqa: BLE001 - every failure becomes an error status with its text
        if isinstance(error, UserError):
            status, message = error.status, str(error)
        else:
            status = Gimp.PDBStatusType.EXECUTION_ERROR
            message = f"K-Means Quantize failed: {type(error).__name__}: {error}"
        if run_mode == Gimp.RunMode.INTERACTIVE:
            Gimp.message(message)
        return procedure.new_return_values(status, GLib.Error(message))
    if new_image is None:
        return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())
    if run_mode == Gimp.RunMode.INTERACTIVE:
        Gimp.Display.new(new_image)
    return Gimp.ValueArray.new_from_values(
        [GObject.Value(Gimp.PDBStatusType, Gimp.PDBStatusType.SUCCESS), GObject.Value(Gimp.Image, new_image)]
    )


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

OUTPUTS = [
    ("new-layer", "New layer", "A new layer above each source layer"),
    ("indexed-image", "Indexed image", "A new image in indexed mode with exactly the fitted palette"),
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
        procedure.add_boolean_aux_argument(
            "preview", "Pre_view", "Show the result in the dialog, on a reduced copy", True, flags
        )
        # "O_utput", not "_Output": Alt+O is the dialog's OK button
        add_choice(procedure, "output", "O_utput", "What the run makes", OUTPUTS, "new-layer")
        procedure.add_image_return_value(
            "new-image", "New image", "The indexed image (output indexed-image), else none", True, flags
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
