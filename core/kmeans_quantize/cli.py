"""Command line: ``kmeans-quantize INPUT... [-k N] [-o OUTPUT | --out-dir DIR] ...``.

Pillow is imported lazily (through :mod:`imagefile` and :mod:`palette_io`), only
for reading and writing files. Every mistake a user can make ends in one line on
stderr and a non-zero exit status, never a traceback; with several inputs the
others still finish.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .imagefile import (
    INDEXED_FORMATS,
    ImageFileError,
    check_indexable,
    output_format,
    read_image,
    write_image,
    write_indexed,
)
from .metrics import mean_delta_e_2000, mse, psnr
from .palette import Palette
from .palette_io import SUFFIX_FORMATS, load_palette, save_palette
from .pixels import from_unit, prepare_pixels, to_unit
from .quantize import DITHERS, MAX_COLORS, fit_palette, quantize, remap
from .space import COLOR_SPACES

#: File suffixes --palette-out can write.
PALETTE_SUFFIXES = tuple(SUFFIX_FORMATS)


class UserError(Exception):
    """A mistake in the command line or the files, reported in one line."""


@dataclass(frozen=True)
class Job:
    """One image to process, with everything a worker process needs."""

    source: Path
    target: Path
    args: argparse.Namespace
    palette: Palette | None  # given (--palette-in) or shared; None: fit one per image
    fixed: NDArray[np.uint8] | None


@dataclass(frozen=True)
class Outcome:
    """What happened to one image: a report row, or the error message."""

    source: Path
    target: Path
    error: str | None = None
    report: dict[str, Any] | None = None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kmeans-quantize",
        description="Reduce images to K colours with k-means clustering.",
        epilog="Output is written beside each input as NAME.kN.png unless -o or --out-dir says otherwise; "
        "existing files are kept unless --force is given.",
    )
    parser.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="images (PNG, JPEG, TIFF, ...)")
    parser.add_argument(
        "-k", "--colors", type=int, default=8, metavar="N", help="number of colours (default 8)"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", type=Path, help="output file (one input only)")
    where.add_argument("--out-dir", type=Path, metavar="DIR", help="folder for the outputs")
    parser.add_argument(
        "--color-space", choices=COLOR_SPACES, default="rgb", help="space to cluster in (rgb)"
    )
    parser.add_argument("--dither", choices=DITHERS, default="none", help="dithering (none)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0: repeatable results)")
    parser.add_argument("--init", choices=("k-means++", "random"), default="k-means++")
    parser.add_argument("--max-iter", type=int, default=300, metavar="N")
    parser.add_argument(
        "--shared-palette", action="store_true", help="fit one palette over all inputs, then apply it to each"
    )
    parser.add_argument(
        "--palette-out", type=Path, metavar="FILE", help="save the palette (.gpl, .hex, .txt, .json, .png)"
    )
    parser.add_argument("--palette-in", type=Path, metavar="FILE", help="map to this palette; no fitting")
    parser.add_argument(
        "--fixed-colors",
        metavar="HEX,...",
        help="colours that must be in the palette, e.g. '#000000,#ffffff'",
    )
    parser.add_argument("--indexed", action="store_true", help="write a palette-based PNG or GIF (K <= 256)")
    parser.add_argument(
        "--report", action="store_true", help="print colours, iterations, errors, sizes, time"
    )
    parser.add_argument("-f", "--force", action="store_true", help="overwrite existing output files")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    parser.add_argument(
        "-j", "--jobs", type=int, default=os.cpu_count() or 1, metavar="N", help="parallel jobs"
    )
    return parser


def parse_hex_colors(text: str) -> NDArray[np.uint8]:
    """``'#ff0000,00ff00'`` -> uint8 array of shape (n, 3)."""
    colors = []
    for item in text.split(","):
        digits = item.strip().removeprefix("#")
        if len(digits) != 6 or any(c not in "0123456789abcdefABCDEF" for c in digits):
            raise UserError(f"--fixed-colors: {item.strip()!r} is not a colour like #ff8800")
        colors.append([int(digits[i : i + 2], 16) for i in (0, 2, 4)])
    return np.array(colors, dtype=np.uint8)


def _in_dtype(colors: NDArray[np.uint8], like: NDArray[Any]) -> NDArray[Any]:
    """8-bit RGB colours in the value range of an image of ``like``'s dtype and channels."""
    if (1 if like.ndim == 2 else like.shape[2]) in (1, 2):
        raise UserError("--fixed-colors needs colour (RGB) images")
    return from_unit(to_unit(colors, colors.dtype), like.dtype)


def _target(source: Path, args: argparse.Namespace, n_colors: int) -> Path:
    if args.output is not None:
        return Path(args.output)
    folder = args.out_dir if args.out_dir is not None else source.parent
    suffix = source.suffix if args.indexed and source.suffix.lower() == ".gif" else ".png"
    return folder / f"{source.stem}.k{n_colors}{suffix}"


def _check_target(job: Job) -> None:
    target, source = job.target, job.source
    if target.resolve() == source.resolve():
        raise UserError(f"{target}: refusing to overwrite the input image")
    if not target.parent.is_dir():
        raise UserError(f"{target.parent}: no such folder")
    if target.is_dir():
        raise UserError(f"{target}: is a folder; -o takes a file name (--out-dir takes a folder)")
    if target.exists() and not job.args.force:
        raise UserError(f"{target}: already exists (use --force to overwrite)")
    try:
        fmt = output_format(target)
    except ImageFileError as error:
        raise UserError(str(error)) from None
    if job.args.indexed and fmt not in INDEXED_FORMATS:
        raise UserError(f"{target}: --indexed writes .png or .gif files")


def _fit_options(args: argparse.Namespace) -> dict[str, Any]:
    """The k-means keywords the command line passes to quantize and fit_palette alike."""
    return {"color_space": args.color_space, "init": args.init, "max_iter": args.max_iter, "seed": args.seed}


def _process(job: Job) -> Outcome:
    """Read, quantize and write one image (runs in a worker process)."""
    started = time.perf_counter()
    args = job.args
    try:
        _check_target(job)
        pixels = read_image(job.source)
        alpha = prepare_pixels(pixels).alpha if args.indexed else None
        check_indexable(alpha, job.target)  # before the work, not after it
        if job.palette is not None:
            image, labels = remap(pixels, job.palette, dither=args.dither)
            palette, n_iter = job.palette, 0
        else:
            fixed = None if job.fixed is None else _in_dtype(job.fixed, pixels)
            result = quantize(
                pixels, args.colors, fixed_colors=fixed, dither=args.dither, **_fit_options(args)
            )
            image, palette, n_iter, labels = result.image, result.palette, result.n_iter, result.labels
        if args.indexed:
            write_indexed(labels, palette, None if alpha is None else alpha.reshape(labels.shape), job.target)
        else:
            write_image(image, job.target)
        if args.palette_out is not None and job.palette is None:
            save_palette(palette, args.palette_out)
        report = _report(pixels, image, palette, n_iter, job, started) if args.report else None
    except (UserError, ImageFileError) as error:
        return Outcome(job.source, job.target, error=str(error))
    except (ValueError, OSError) as error:
        return Outcome(job.source, job.target, error=f"{job.source}: {error}")
    return Outcome(job.source, job.target, report=report)


def _report(
    pixels: NDArray[Any], image: NDArray[Any], palette: Palette, n_iter: int, job: Job, started: float
) -> dict[str, Any]:
    """The figures --report prints for one image."""
    try:
        delta_e = mean_delta_e_2000(pixels, image)
    except ValueError:  # nothing to compare: every pixel transparent
        delta_e = float("nan")
    return {
        "colours": len(palette),
        "iterations": n_iter,
        "mse": mse(pixels, image),
        "psnr": psnr(pixels, image),
        "delta_e": delta_e,
        "bytes_in": job.source.stat().st_size,
        "bytes_out": job.target.stat().st_size,
        "seconds": time.perf_counter() - started,
    }


def _shared_palette(args: argparse.Namespace, fixed: NDArray[np.uint8] | None) -> Palette:
    """One palette fitted over the pixels of every input (their histograms summed)."""
    images = []
    for source in args.inputs:
        try:
            images.append(read_image(source))
        except ImageFileError as error:
            raise UserError(f"{error} (--shared-palette needs every input)") from None
    try:
        fixed_in_dtype = None if fixed is None else _in_dtype(fixed, images[0])
        return fit_palette(images, args.colors, fixed_colors=fixed_in_dtype, **_fit_options(args))
    except ValueError as error:
        raise UserError(f"--shared-palette: {error}") from None


def _check_palette_out(path: Path, force: bool) -> None:
    if path.suffix.lower() not in PALETTE_SUFFIXES:
        raise UserError(f"--palette-out {path}: use one of {', '.join(PALETTE_SUFFIXES)}")
    if not path.parent.is_dir():
        raise UserError(f"--palette-out {path}: no such folder {path.parent}")
    if path.exists() and not force:
        raise UserError(f"--palette-out {path}: already exists (use --force to overwrite)")


def _plan(args: argparse.Namespace) -> list[Job]:
    """Check the options against each other and build one job per input."""
    if not 1 <= args.colors <= MAX_COLORS:
        raise UserError(f"-k must be between 1 and {MAX_COLORS}, got {args.colors}")
    if args.max_iter < 1:
        raise UserError(f"--max-iter must be at least 1, got {args.max_iter}")
    if args.jobs < 1:
        raise UserError(f"--jobs must be at least 1, got {args.jobs}")
    if args.seed < 0:
        raise UserError(f"--seed must be 0 or more, got {args.seed}")
    if args.output is not None and len(args.inputs) > 1:
        raise UserError("-o names one output; with several inputs use --out-dir")
    if args.out_dir is not None and not args.out_dir.is_dir():
        raise UserError(f"{args.out_dir}: no such folder")
    if args.palette_in is not None and (args.shared_palette or args.fixed_colors):
        raise UserError("--palette-in maps to a given palette: it cannot be combined with fitting options")
    if args.palette_out is not None and len(args.inputs) > 1 and not args.shared_palette:
        raise UserError("--palette-out with several inputs needs --shared-palette (one palette for all)")
    if args.palette_out is not None:
        _check_palette_out(args.palette_out, args.force)
    if args.indexed and args.colors > 256 and args.palette_in is None:
        raise UserError("--indexed holds at most 256 colours: use -k 256 or fewer")
    fixed = parse_hex_colors(args.fixed_colors) if args.fixed_colors else None
    palette = None
    if args.palette_in is not None:
        try:
            palette = load_palette(args.palette_in)
        except (OSError, ValueError) as error:
            raise UserError(f"--palette-in: {error}") from None
    elif args.shared_palette:
        palette = _shared_palette(args, fixed)
        if args.palette_out is not None:
            try:
                save_palette(palette, args.palette_out)
            except (OSError, ValueError) as error:
                raise UserError(f"--palette-out: {error}") from None
    n_colors = len(palette) if palette is not None else args.colors
    jobs = [Job(source, _target(source, args, n_colors), args, palette, fixed) for source in args.inputs]
    _check_distinct_targets(jobs)
    return jobs


def _check_distinct_targets(jobs: list[Job]) -> None:
    """Refuse inputs that would write the same file (same name in two folders, or listed twice)."""
    writer: dict[Path, Path] = {}
    for job in jobs:
        first = writer.setdefault(job.target.resolve(), job.source)
        if first is job.source:
            continue
        if first.resolve() == job.source.resolve():
            raise UserError(f"{job.source} is given twice")
        raise UserError(
            f"{first} and {job.source} would both be written to {job.target}; "
            "rename one, or run them separately"
        )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _format_report(outcome: Outcome) -> str:
    r = outcome.report
    assert r is not None
    return (
        f"{outcome.target}: {_count(r['colours'], 'colour')}, {_count(r['iterations'], 'iteration')}, "
        f"MSE {r['mse']:.2f}, PSNR {r['psnr']:.2f} dB, mean dE2000 {r['delta_e']:.2f}, "
        f"{r['bytes_in']:,} -> {r['bytes_out']:,} bytes, {r['seconds']:.2f} s"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 all done, 1 something failed)."""
    args = _parser().parse_args(argv)
    try:
        jobs = _plan(args)
    except UserError as error:
        print(f"kmeans-quantize: error: {error}", file=sys.stderr)
        return 1
    show_progress = not args.quiet and sys.stderr.isatty()
    failed = 0
    workers = min(args.jobs, len(jobs))
    executor = ProcessPoolExecutor(max_workers=workers) if workers > 1 else None
    outcomes = executor.map(_process, jobs) if executor is not None else map(_process, jobs)
    try:
        for done, outcome in enumerate(outcomes, start=1):
            if outcome.error is not None:
                failed += 1
                print(f"kmeans-quantize: error: {outcome.error}", file=sys.stderr)
                continue
            if show_progress:
                print(f"[{done}/{len(jobs)}] {outcome.source} -> {outcome.target}", file=sys.stderr)
            if outcome.report is not None:
                print(_format_report(outcome))
    finally:
        if executor is not None:
            executor.shutdown()
    if failed and len(jobs) > 1:
        print(f"kmeans-quantize: {failed} of {len(jobs)} images failed", file=sys.stderr)
    return 1 if failed else 0
