"""Run inside GIMP 3 by ``gimp_indexed.py``: time Image > Mode > Indexed on every image and K.

GIMP's python-fu-eval provides the globals Gimp, Gegl, Babl, GObject, GLib, Gio and sys. The job
is described by ``job.json`` in the folder $KMQ_GIMP_BENCH_DIR::

    {"images": [{"name": ..., "file": "in/0.npy"}, ...], "ks": [16, 64], "repeat": 3}

Each image (a uint8 RGB ``.npy``) becomes a one-layer RGB GIMP image. For each K it is converted
``repeat`` times, each time on a fresh ``image.duplicate()``, with
``convert_indexed(NONE, GENERATE, K, False, True, "")`` (the "optimum palette", no dithering,
no alpha dithering, remove unused colours); only that call is timed, with ``time.perf_counter``.
The last conversion is turned back into RGB and its pixels saved as ``out/<image>_<K>.npy``.

``results.json`` is rewritten after every conversion: the times and palette sizes, some facts
about this GIMP, and the peak resident memory of GIMP's core process and of this plug-in. When a
step raises, the traceback is recorded there and the exception re-raised, so that GIMP exits
with status 64.
"""

# ruff: noqa: F821  (Gimp, Gegl are globals given by python-fu-eval)

from __future__ import annotations

import json
import os
import time
import traceback
from typing import Any

import numpy as np

HERE = os.environ["KMQ_GIMP_BENCH_DIR"]
FORMAT = "R'G'B' u8"


def peak_rss_bytes(pid: int | str) -> int | None:
    """Peak resident set (VmHWM) of a process, from /proc; None if it cannot be read."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def process_name(pid: int) -> str | None:
    """The command name of a process, from /proc; None if it cannot be read."""
    try:
        with open(f"/proc/{pid}/comm") as comm:
            return comm.read().strip()
    except OSError:
        return None


def new_rgb_image(pixels: np.ndarray) -> Any:
    """A GIMP RGB image (8-bit, sRGB) with one layer holding ``pixels`` (H, W, 3) uint8."""
    height, width = pixels.shape[:2]
    image = Gimp.Image.new(width, height, Gimp.ImageBaseType.RGB)
    layer = Gimp.Layer.new(
        image, "photo", width, height, Gimp.ImageType.RGB_IMAGE, 100.0, Gimp.LayerMode.NORMAL
    )
    image.insert_layer(layer, None, 0)
    buffer = layer.get_buffer()
    buffer.set(Gegl.Rectangle.new(0, 0, width, height), FORMAT, np.ascontiguousarray(pixels).tobytes())
    buffer.flush()
    return image


def read_rgb(image: Any) -> np.ndarray:
    """The pixels of the image's only layer, as (H, W, 3) uint8."""
    layer = image.get_layers()[0]
    width, height = layer.get_width(), layer.get_height()
    data = layer.get_buffer().get(Gegl.Rectangle.new(0, 0, width, height), 1.0, FORMAT, Gegl.AbyssPolicy.NONE)
    return np.frombuffer(data, np.uint8).reshape(height, width, 3)


def convert(image: Any, k: int) -> float:
    """Convert ``image`` to indexed with an optimum palette of ``k`` colours; the seconds it took."""
    start = time.perf_counter()
    done = image.convert_indexed(
        Gimp.ConvertDitherType.NONE, Gimp.ConvertPaletteType.GENERATE, k, False, True, ""
    )
    seconds = time.perf_counter() - start
    if not done:
        raise RuntimeError(f"convert_indexed returned False (K={k})")
    return seconds


def gimp_facts() -> dict[str, Any]:
    """What this GIMP is and how it is set up."""
    core = os.getppid()
    arguments = Gimp.get_pdb().lookup_procedure("gimp-image-convert-indexed").get_arguments()
    num_cols = next(spec for spec in arguments if spec.name == "num-cols")
    return {
        "gimp_version": Gimp.version(),
        "num_processors": Gimp.get_num_processors(),
        "gimprc_num_processors": Gimp.gimprc_query("num-processors"),
        "gimprc_tile_cache_size": Gimp.gimprc_query("tile-cache-size"),
        "num_cols_range": [getattr(num_cols, "minimum", None), getattr(num_cols, "maximum", None)],
        "core_pid": core,
        "core_process": process_name(core),
        "numpy": np.__version__,
    }


def write(results: dict[str, Any]) -> None:
    results["core_peak_rss_bytes"] = peak_rss_bytes(results["facts"]["core_pid"])
    results["plugin_peak_rss_bytes"] = peak_rss_bytes("self")
    partial = os.path.join(HERE, "results.json.partial")
    with open(partial, "w") as out:
        json.dump(results, out, indent=1)
    os.replace(partial, os.path.join(HERE, "results.json"))


def run() -> None:
    with open(os.path.join(HERE, "job.json")) as job_file:
        job = json.load(job_file)
    results: dict[str, Any] = {"facts": gimp_facts(), "runs": [], "done": False}
    write(results)
    try:
        for number, entry in enumerate(job["images"]):
            pixels = np.load(os.path.join(HERE, entry["file"]), mmap_mode="r")
            image = new_rgb_image(pixels)
            del pixels
            precision = image.get_precision().value_nick
            for k in job["ks"]:
                seconds = []
                for repeat in range(job["repeat"]):
                    copy = image.duplicate()
                    seconds.append(convert(copy, k))
                    if repeat < job["repeat"] - 1:
                        copy.delete()
                colors = copy.get_palette().get_color_count()
                if not copy.convert_rgb():
                    raise RuntimeError(f"convert_rgb returned False (K={k})")
                output = f"out/{number}_{k}.npy"
                np.save(os.path.join(HERE, output), read_rgb(copy))
                copy.delete()
                results["runs"].append(
                    {
                        "image": number,
                        "name": entry["name"],
                        "k": k,
                        "seconds": seconds,
                        "palette_colors": colors,
                        "precision": precision,
                        "file": output,
                    }
                )
                write(results)
            image.delete()
        results["done"] = True
    except Exception:
        results["traceback"] = traceback.format_exc()
        raise
    finally:
        write(results)


run()
