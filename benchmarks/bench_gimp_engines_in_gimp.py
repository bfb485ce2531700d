"""Run inside GIMP 3 by ``bench_gimp_engines.py``: time whole runs of the K-Means Quantize filter.

GIMP's python-fu-eval provides the globals Gimp, Gegl, Babl, GObject, GLib, Gio and sys. This
script imports no numpy: it runs once with GIMP's numpy and once with numpy hidden from GIMP's
Python, where the plug-in falls back to its numpy-free engine. The job is ``job.json`` in the
folder $KMQ_GIMP_BENCH_DIR::

    {"engine": "numpy-free",
     "images": [{"name": "china.jpg", "file": "in/0.raw", "width": 640, "height": 427}, ...],
     "rows": [{"image": 0, "settings": {"n-colors": 16, "color-space": "rgb", ...}}, ...]}

Each image file holds raw ``R'G'B' u8`` bytes. For every row a fresh one-layer RGB image is built
from them, ``plug-in-kmeans-quantize`` is run on its layer as a script runs it (NONINTERACTIVE,
the row's settings on top of the procedure's defaults; an empty ``settings`` leaves the
defaults), and only ``procedure.run(config)`` is timed with ``time.perf_counter``: the whole
filter run, from starting the plug-in's process and reading the layer to the new layer. The new
layer is read back as ``R'G'B'A u8`` and saved as ``out/<row>.raw``, then the image is deleted.
Before the rows, one run with the defaults on a 32x32 image measures the fixed cost of a run
(starting the plug-in's Python and its imports) and writes the plug-in's bytecode caches.

``results.json`` is rewritten after every row: facts about this GIMP and its Python, and per row
the seconds, the settings the procedure ran with, the status and the new layer's name. A row
whose run fails records the status and message (or the traceback) and the next row runs. A
failure outside the rows records the traceback and re-raises, so that GIMP exits with status 64.
"""

# ruff: noqa: F821  (Gimp, Gegl are globals given by python-fu-eval)

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from typing import Any

HERE = os.environ["KMQ_GIMP_BENCH_DIR"]
ENGINE = os.environ["KMQ_BENCH_ENGINE"]
PROCEDURE = "plug-in-kmeans-quantize"
SOURCE_FORMAT = "R'G'B' u8"
RESULT_FORMAT = "R'G'B'A u8"
#: Settings read back from the config of every run, to say what the procedure ran with.
REPORTED = ("n-colors", "color-space", "dither", "seed", "init", "max-iterations")
WARM_UP_SIZE = 32


def numpy_here() -> str | None:
    """numpy's version if this Python can import it, else None."""
    try:
        import numpy  # the point is to see whether it imports
    except ImportError:
        return None
    return str(numpy.__version__)


def gimp_facts() -> dict[str, Any]:
    """What this GIMP and its Python are; raises if numpy is not as the engine needs it.

    Returns
    -------
    dict
        GIMP's version, its thread count and tile cache, and the Python that GIMP's plug-ins
        (this one and K-Means Quantize) run in: version, executable, numpy version or None.
    """
    numpy_version = numpy_here()
    if ENGINE == "numpy-free" and numpy_version is not None:
        raise RuntimeError(f"numpy {numpy_version} imports, but it should be hidden for the numpy-free run")
    if ENGINE == "numpy" and numpy_version is None:
        raise RuntimeError("numpy does not import in GIMP's Python, so the numpy engine cannot run")
    return {
        "gimp_version": Gimp.version(),
        "num_processors": Gimp.get_num_processors(),
        "gimprc_tile_cache_size": Gimp.gimprc_query("tile-cache-size"),
        "python_version": sys.version.split()[0],
        "python_executable": sys.executable,
        "numpy": numpy_version,
        "kmq_engine": os.environ.get("KMQ_ENGINE", ""),
        "pythonpath": os.environ.get("PYTHONPATH", ""),
    }


def new_rgb_image(data: bytes, width: int, height: int) -> Any:
    """A GIMP RGB image (8-bit, sRGB) with one layer holding the ``R'G'B' u8`` bytes ``data``.

    Parameters
    ----------
    data : bytes
        ``width * height * 3`` bytes, row by row.
    width, height : int
        The image size.

    Returns
    -------
    Gimp.Image
    """
    image = Gimp.Image.new(width, height, Gimp.ImageBaseType.RGB)
    layer = Gimp.Layer.new(
        image, "photo", width, height, Gimp.ImageType.RGB_IMAGE, 100.0, Gimp.LayerMode.NORMAL
    )
    image.insert_layer(layer, None, 0)
    buffer = layer.get_buffer()
    buffer.set(Gegl.Rectangle.new(0, 0, width, height), SOURCE_FORMAT, data)
    buffer.flush()
    return image


def run_filter(image: Any, settings: dict[str, Any]) -> dict[str, Any]:
    """Run the filter on the image's only layer as a script does; time ``procedure.run`` alone.

    Parameters
    ----------
    image : Gimp.Image
        A one-layer image.
    settings : dict
        Procedure arguments by name (``n-colors``, ``color-space``, ...) set on top of the
        procedure's defaults.

    Returns
    -------
    dict
        ``seconds``, ``status`` (the PDB status nick), ``message``, ``settings`` (the config's
        values of :data:`REPORTED`), ``layers`` (the image's top-level layer count after the run)
        and ``layer`` (the new layer, or None if none was added).
    """
    layer = image.get_layers()[0]
    procedure = Gimp.get_pdb().lookup_procedure(PROCEDURE)
    if procedure is None:
        raise RuntimeError(f"GIMP has no procedure {PROCEDURE}: the plug-in was not installed or not queried")
    config = procedure.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("image", image)
    config.set_core_object_array("drawables", [layer])
    for name, value in settings.items():
        config.set_property(name, value)
    start = time.perf_counter()
    result = procedure.run(config)
    seconds = time.perf_counter() - start
    layers = image.get_layers()
    added = layers[0] if len(layers) == 2 and layers[1].get_id() == layer.get_id() else None
    return {
        "seconds": seconds,
        "status": result.index(0).value_nick,
        "message": result.index(1) or "",
        "settings": {name: config.get_property(name) for name in REPORTED},
        "layers": len(layers),
        "layer": added,
    }


def read_rgba(layer: Any) -> bytes:
    """A layer's pixels as ``R'G'B'A u8`` bytes, row by row."""
    width, height = layer.get_width(), layer.get_height()
    rectangle = Gegl.Rectangle.new(0, 0, width, height)
    return layer.get_buffer().get(rectangle, 1.0, RESULT_FORMAT, Gegl.AbyssPolicy.NONE)


def write(results: dict[str, Any]) -> None:
    """Replace ``results.json`` atomically."""
    partial = os.path.join(HERE, "results.json.partial")
    with open(partial, "w") as out:
        json.dump(results, out, indent=1)
    os.replace(partial, os.path.join(HERE, "results.json"))


def warm_up() -> dict[str, Any]:
    """One run with the defaults on a small gradient: the fixed cost of a filter run."""
    side = WARM_UP_SIZE
    data = bytes(channel for y in range(side) for x in range(side) for channel in (x * 8, y * 8, (x + y) * 4))
    image = new_rgb_image(data, side, side)
    try:
        run = run_filter(image, {})
    finally:
        image.delete()
    run.pop("layer")
    return run


def bench_row(number: int, row: dict[str, Any], entry: dict[str, Any], data: bytes) -> dict[str, Any]:
    """One row of the job: build the image, run the filter, save the new layer's pixels."""
    image = new_rgb_image(data, entry["width"], entry["height"])
    try:
        run = run_filter(image, row["settings"])
        layer = run.pop("layer")
        if run["status"] == "success" and layer is not None:
            run["layer_name"] = layer.get_name()
            run["file"] = f"out/{number}.raw"
            with open(os.path.join(HERE, run["file"]), "wb") as out:
                out.write(read_rgba(layer))
        elif run["status"] == "success":
            run["message"] = (
                f"the run succeeded but left {run['layers']} layers, not the source and a new one"
            )
    finally:
        image.delete()
    return run


def main() -> None:
    """Run the job and record everything in ``results.json``."""
    with open(os.path.join(HERE, "job.json")) as job_file:
        job = json.load(job_file)
    results: dict[str, Any] = {"engine": ENGINE, "facts": {}, "warm_up": None, "rows": [], "done": False}
    try:
        results["facts"] = gimp_facts()
        write(results)
        results["warm_up"] = warm_up()
        write(results)
        loaded: tuple[int, bytes] | None = None
        for number, row in enumerate(job["rows"]):
            entry = job["images"][row["image"]]
            if loaded is None or loaded[0] != row["image"]:
                loaded = None  # let the previous image's bytes go before reading the next
                with open(os.path.join(HERE, entry["file"]), "rb") as raw:
                    loaded = (row["image"], raw.read())
            try:
                outcome = bench_row(number, row, entry, loaded[1])
            except Exception:
                outcome = {"status": "exception", "message": traceback.format_exc()}
            results["rows"].append({"row": number, **outcome})
            write(results)
        results["done"] = True
    except Exception:
        results["traceback"] = traceback.format_exc()
        raise
    finally:
        write(results)


main()
