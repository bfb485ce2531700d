"""Command line: ``kmeans-quantize INPUT... [-k N] [-o OUTPUT | --out-dir DIR] ...``.

Pillow is imported lazily (through :mod:`imagefile` and :mod:`palette_io`), only
for reading and writing files. Every mistake a user can make ends in one line on
stderr and a non-zero exit status, never a traceback; with several inputs the
others still finish. No file a run reads is ever written, and no two things a
run writes share a file: both are checked before any pixel work. SIGINT, SIGTERM
and SIGHUP stop every worker, remove unfinished temporary files and exit with
128 + the signal number after one line.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO

import numpy as np
from numpy.typing import NDArray

from .choices import Dither, Init
from .clustering_space import ColorSpaceName
from .files import remove_temporaries
from .imagefile import (
    DEFAULT_MAX_PIXELS,
    INDEXED_FORMATS,
    ImageFileError,
    check_indexable,
    output_format,
    read_image,
    write_image,
    write_indexed,
)
from .metrics import mean_delta_e_2000, mse, psnr
from .options import MAX_COLORS, Options
from .palette import Palette, gray_colors
from .palette_files import SUFFIX_FORMATS, SWATCH_SIZE
from .palette_io import load_palette, save_palette
from .pixels import convert, prepare_pixels
from .quantize import QuantizeResult, fit_palette_with_options, quantize_with_options, remap

#: File suffixes --palette-out can write.
PALETTE_SUFFIXES = tuple(SUFFIX_FORMATS)
#: The name that stands for standard input (as an INPUT) or standard output (as -o).
STDIO = Path("-")
#: Default -k.
DEFAULT_COLORS = 8
#: The most colours an indexed image (and so a GIF) holds, transparent entry included.
INDEXED_ENTRIES = 256
#: The most colours a --palette-out .png swatch strip shows: one pixel column each at least.
SWATCH_COLORS = SWATCH_SIZE[0]


class UserError(Exception):
    """A mistake in the command line or the files, reported in one line."""


class Interrupted(Exception):
    """A signal asked the run to stop."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@dataclass(frozen=True)
class Settings:
    """What a worker process needs of the command line, checked."""

    options: Options  # with --palette-in, only its dither is used: there is no fit
    format: str | None  # --format
    indexed: bool  # --indexed
    max_pixels: int  # --max-megapixels, in pixels
    force: bool
    palette_out: Path | None
    report: bool


@dataclass(frozen=True)
class Job:
    """One image to process, with everything a worker process needs."""

    source: Path  # STDIO: standard input, whose bytes are in ``data``
    target: Path  # STDIO: standard output (the worker returns the bytes)
    settings: Settings
    palette: Palette | None  # given (--palette-in) or shared; None: fit one per image
    fixed: NDArray[np.uint8] | None
    data: bytes | None = None

    @property
    def source_name(self) -> str:
        return "<stdin>" if self.source == STDIO else str(self.source)

    @property
    def target_name(self) -> str:
        return "<stdout>" if self.target == STDIO else str(self.target)

    @property
    def format(self) -> str | None:
        """The --format for standard output (PNG by default); files take theirs from the suffix."""
        return (self.settings.format or "png") if self.target == STDIO else None

    @property
    def indexed(self) -> bool:
        """Written as a palette image: asked for with --indexed, or GIF, which holds nothing else."""
        return self.settings.indexed or _format_of(self) == "GIF"


@dataclass(frozen=True)
class Outcome:
    """What happened to one image: a report row and the bytes for standard output, or the error."""

    source: str
    target: str
    error: str | None = None
    report: dict[str, Any] | None = None
    output: bytes | None = None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kmeans-quantize",
        description="Reduce images to K colours with k-means clustering.",
        epilog="Output is written beside each input as NAME.kN.png unless -o or --out-dir says otherwise; "
        "existing files are kept unless --force is given, and no input is ever overwritten. "
        "'-' as INPUT reads standard input, as -o writes standard output (PNG unless --format).",
    )
    parser.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="images (PNG, JPEG, TIFF, ...)")
    parser.add_argument(
        "-k", "--colors", type=int, metavar="N", help=f"number of colours (default {DEFAULT_COLORS})"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "-o", "--output", type=Path, help="output file (one input only); - for standard output"
    )
    where.add_argument("--out-dir", type=Path, metavar="DIR", help="folder for the outputs")
    parser.add_argument(
        "--format", metavar="FMT", help="format written to standard output: png (default), gif, jpg, ..."
    )
    parser.add_argument(
        "--color-space", choices=ColorSpaceName.names(), default="rgb", help="space to cluster in (rgb)"
    )
    parser.add_argument("--dither", choices=Dither.names(), default="none", help="dithering (none)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0: repeatable results)")
    parser.add_argument("--init", choices=Init.names(), default="k-means++")
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
    parser.add_argument(
        "--max-megapixels",
        type=float,
        default=DEFAULT_MAX_PIXELS / 1e6,
        metavar="MP",
        help=f"refuse larger images before decoding them (default {DEFAULT_MAX_PIXELS / 1e6:.0f})",
    )
    parser.add_argument(
        "-f", "--force", action="store_true", help="overwrite existing output files (never an input)"
    )
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


def _check_fixed(fixed: NDArray[np.uint8], n_colors: int) -> None:
    """Fixed colours the fit can keep: distinct, and no more than -k."""
    seen: set[tuple[int, ...]] = set()
    for color in fixed:
        key = tuple(int(v) for v in color)
        if key in seen:
            raise UserError(f"--fixed-colors: #{bytes(key).hex()} is given twice")
        seen.add(key)
    if len(fixed) > n_colors:
        raise UserError(f"--fixed-colors gives {len(fixed)} colours, more than -k {n_colors}")


def _in_dtype(colors: NDArray[np.uint8], like: NDArray[Any], source: str) -> NDArray[Any]:
    """--fixed-colors (8-bit RGB) in the value range and channels of an image like ``like``: gray
    for a gray image, which takes only colours with R = G = B."""
    if (1 if like.ndim == 2 else like.shape[2]) in (1, 2):
        try:
            colors = gray_colors(colors, "--fixed-colors")
        except ValueError as error:
            raise UserError(f"{source}: {error}") from None
    return convert(colors, like.dtype)


def _format_of(job: Job) -> str:
    try:
        return output_format(job.target, job.format)
    except ImageFileError as error:
        raise UserError(str(error)) from None


def _target(source: Path, args: argparse.Namespace, n_colors: int) -> Path:
    if args.output is not None:
        return Path(args.output)
    if source == STDIO:
        if args.out_dir is not None:
            raise UserError("standard input has no name to write beside in --out-dir: give -o FILE or -o -")
        return STDIO
    folder = args.out_dir if args.out_dir is not None else source.parent
    suffix = source.suffix if args.indexed and source.suffix.lower() == ".gif" else ".png"
    return folder / f"{source.stem}.k{n_colors}{suffix}"


def _check_target(job: Job, n_colors: int) -> None:
    """What can be known of an output before its image is read (run for every job up front)."""
    if job.target != STDIO:
        if not os.path.isdir(job.target.parent):
            raise UserError(f"{job.target.parent}: no such folder")
        if os.path.isdir(job.target):
            raise UserError(f"{job.target}: is a folder; -o takes a file name (--out-dir takes a folder)")
    fmt = _format_of(job)
    if job.settings.indexed and fmt not in INDEXED_FORMATS:
        raise UserError(f"{job.target_name}: --indexed writes PNG or GIF files, not {fmt}")
    if job.indexed and n_colors > INDEXED_ENTRIES:
        holder = "--indexed" if job.settings.indexed else f"{job.target_name}: GIF"
        advice = (
            f"the --palette-in palette has {n_colors}"
            if job.palette is not None
            else f"use -k {INDEXED_ENTRIES} or fewer"
        )
        raise UserError(f"{holder} holds at most {INDEXED_ENTRIES} colours: {advice}")


def _check_room(job: Job, alpha: NDArray[Any] | None, n_colors: int) -> None:
    """An indexed output holds no partial transparency and keeps one entry for fully transparent
    pixels: refuse before the fit."""
    if not job.indexed:
        return
    try:
        check_indexable(alpha, job.target_name)
    except ImageFileError:
        if job.settings.indexed:
            raise
        raise UserError(
            f"{job.target_name}: GIF cannot store partial transparency (only fully transparent or "
            "opaque pixels); write PNG"
        ) from None
    if alpha is not None and n_colors >= INDEXED_ENTRIES and bool(np.any(alpha == 0)):
        raise UserError(
            f"{job.source_name}: its fully transparent pixels take one of the {INDEXED_ENTRIES} entries of "
            f"an indexed image: use -k {INDEXED_ENTRIES - 1} or fewer"
        )


def _settings(args: argparse.Namespace, n_colors: int) -> Settings:
    """The checked options of a run, for its workers (``n_colors``: -k or its default)."""
    options = Options.from_keywords(
        n_colors,
        color_space=args.color_space,
        init=args.init,
        max_iter=args.max_iter,
        seed=args.seed,
        dither=args.dither,
    )
    return Settings(
        options=options,
        format=args.format,
        indexed=args.indexed,
        max_pixels=round(args.max_megapixels * 1e6),
        force=args.force,
        palette_out=args.palette_out,
        report=args.report,
    )


def _read(source: Path, data: bytes | None, max_pixels: int) -> NDArray[Any]:
    if data is not None:
        return read_image(io.BytesIO(data), max_pixels=max_pixels, name="<stdin>")
    return read_image(source, max_pixels=max_pixels)


def _process(job: Job) -> Outcome:
    """Read, quantize and write one image (runs in a worker process)."""
    started = time.perf_counter()
    settings = job.settings
    try:
        if job.target != STDIO and os.path.exists(job.target) and not settings.force:
            raise UserError(f"{job.target}: already exists (use --force to overwrite)")
        pixels = _read(job.source, job.data, settings.max_pixels)
        data = prepare_pixels(pixels)
        if job.palette is None and not data.selected.any():
            raise UserError(
                f"{job.source_name}: every pixel is fully transparent; there is nothing to quantize"
            )
        n_colors = len(job.palette) if job.palette is not None else settings.options.n_colors
        _check_room(job, data.alpha, n_colors)  # before the work, not after it
        if job.palette is not None:
            image, labels = remap(pixels, job.palette, dither=settings.options.dither)
            result = QuantizeResult(image, job.palette, labels, inertia=0.0, n_iter=0, converged=True)
        else:
            fixed = None if job.fixed is None else _in_dtype(job.fixed, pixels, job.source_name)
            result = quantize_with_options(pixels, replace(settings.options, fixed_colors=fixed))
        stream = io.BytesIO() if job.target == STDIO else None
        destination: Path | BinaryIO = job.target if stream is None else stream
        if job.indexed:
            alpha = None if data.alpha is None else data.alpha.reshape(result.labels.shape)
            write_indexed(result.labels, result.palette, alpha, destination, job.format)
        else:
            write_image(result.image, destination, job.format)
        if settings.palette_out is not None and job.palette is None:
            save_palette(result.palette, settings.palette_out)
        output = None if stream is None else stream.getvalue()
        report = _report(pixels, result, job, output, started) if settings.report else None
    except (UserError, ImageFileError) as error:
        return Outcome(job.source_name, job.target_name, error=str(error))
    except OSError as error:  # a palette file that cannot be written: name it, not the input
        return Outcome(job.source_name, job.target_name, error=_os_error(error))
    except ValueError as error:
        return Outcome(job.source_name, job.target_name, error=f"{job.source_name}: {error}")
    except MemoryError:
        return Outcome(job.source_name, job.target_name, error=f"{job.source_name}: not enough memory")
    return Outcome(job.source_name, job.target_name, report=report, output=output)


def _os_error(error: OSError) -> str:
    """``PATH: cannot write: REASON`` for an error that names its file."""
    if error.filename is None:
        return str(error)
    return f"{error.filename}: cannot write: {error.strerror or error}"


def _report(
    pixels: NDArray[Any], result: QuantizeResult, job: Job, output: bytes | None, started: float
) -> dict[str, Any]:
    """The figures --report prints for one image (``pixels`` as read, ``result`` as written)."""
    image = result.image
    try:
        delta_e = mean_delta_e_2000(pixels, image)
    except ValueError:  # nothing to compare: every pixel transparent
        delta_e = float("nan")
    return {
        "colours": len(result.palette),
        "iterations": result.n_iter,
        "mse": mse(pixels, image),
        "psnr": psnr(pixels, image),
        "delta_e": delta_e,
        "bytes_in": len(job.data) if job.data is not None else job.source.stat().st_size,
        "bytes_out": len(output) if output is not None else job.target.stat().st_size,
        "seconds": time.perf_counter() - started,
    }


def _shared_palette(jobs: list[Job], settings: Settings, fixed: NDArray[np.uint8] | None) -> Palette:
    """One palette fitted over the pixels of every input (their histograms summed)."""
    images = []
    for job in jobs:
        try:
            images.append(_read(job.source, job.data, settings.max_pixels))
        except ImageFileError as error:
            raise UserError(f"{error} (--shared-palette needs every input)") from None
    try:
        fixed_in_dtype = None if fixed is None else _in_dtype(fixed, images[0], "--shared-palette")
        return fit_palette_with_options(images, replace(settings.options, fixed_colors=fixed_in_dtype))
    except ValueError as error:
        raise UserError(f"--shared-palette: {error}") from None


def _check_palette_out(path: Path, n_colors: int, force: bool) -> None:
    if path.suffix.lower() not in PALETTE_SUFFIXES:
        raise UserError(f"--palette-out {path}: use one of {', '.join(PALETTE_SUFFIXES)}")
    if path.suffix.lower() == ".png" and n_colors > SWATCH_COLORS:
        raise UserError(
            f"--palette-out {path}: a .png swatch shows at most {SWATCH_COLORS} colours; "
            "use .gpl, .hex, .txt or .json"
        )
    if not os.path.isdir(path.parent):
        raise UserError(f"--palette-out {path}: no such folder {path.parent}")
    if os.path.isdir(path):
        raise UserError(f"--palette-out {path}: is a folder")
    if os.path.exists(path) and not force:
        raise UserError(f"--palette-out {path}: already exists (use --force to overwrite)")


def _check_options(args: argparse.Namespace) -> None:
    """Numbers in range and options that go together, before any file is opened."""
    _check_numbers(args)
    _check_combinations(args)


def _check_numbers(args: argparse.Namespace) -> None:
    if args.colors is not None and not 1 <= args.colors <= MAX_COLORS:
        raise UserError(f"-k must be between 1 and {MAX_COLORS}, got {args.colors}")
    if args.max_iter < 1:
        raise UserError(f"--max-iter must be at least 1, got {args.max_iter}")
    if args.jobs < 1:
        raise UserError(f"--jobs must be at least 1, got {args.jobs}")
    if args.seed < 0:
        raise UserError(f"--seed must be 0 or more, got {args.seed}")
    if not args.max_megapixels > 0:
        raise UserError(f"--max-megapixels must be more than 0, got {args.max_megapixels}")


def _check_combinations(args: argparse.Namespace) -> None:
    if args.inputs.count(STDIO) > 1:
        raise UserError("standard input (-) can be read once only")
    if args.output is not None and len(args.inputs) > 1:
        raise UserError("-o names one output; with several inputs use --out-dir")
    if args.format is not None and args.output != STDIO and STDIO not in args.inputs:
        raise UserError("--format is for standard output (-o -); files take their format from the suffix")
    if args.out_dir is not None and not os.path.isdir(args.out_dir):
        raise UserError(f"{args.out_dir}: no such folder")
    if args.palette_in is not None and (args.shared_palette or args.fixed_colors):
        raise UserError("--palette-in maps to a given palette: it cannot be combined with fitting options")
    if args.palette_in is not None and args.colors is not None:
        raise UserError("--palette-in gives the colours: -k cannot be used with it")
    if args.palette_out is not None and len(args.inputs) > 1 and not args.shared_palette:
        raise UserError("--palette-out with several inputs needs --shared-palette (one palette for all)")
    if args.indexed and args.colors is not None and args.colors > INDEXED_ENTRIES:
        raise UserError(
            f"--indexed holds at most {INDEXED_ENTRIES} colours: use -k {INDEXED_ENTRIES} or fewer"
        )


def _load_palette_in(path: Path) -> Palette:
    try:
        return load_palette(path)
    except (OSError, ValueError) as error:
        raise UserError(f"--palette-in: {error}") from None


def _plan(args: argparse.Namespace) -> list[Job]:
    """Check the options, the files read and written, and build one job per input.

    Everything here happens before any pixel is read; only the shared palette (last) is
    fitted here, after every check has passed.
    """
    _check_options(args)
    palette = _load_palette_in(args.palette_in) if args.palette_in is not None else None
    if palette is None and args.colors is None:
        args.colors = DEFAULT_COLORS
    n_colors = len(palette) if palette is not None else args.colors
    fixed = parse_hex_colors(args.fixed_colors) if args.fixed_colors else None
    if fixed is not None:
        _check_fixed(fixed, n_colors)
    settings = _settings(args, args.colors or DEFAULT_COLORS)
    stdin = sys.stdin.buffer.read() if STDIO in args.inputs else None
    jobs = [
        Job(
            source,
            _target(source, args, n_colors),
            settings,
            palette,
            fixed,
            stdin if source == STDIO else None,
        )
        for source in args.inputs
    ]
    _check_paths(jobs, args)
    for job in jobs:
        _check_target(job, n_colors)
    if args.palette_out is not None:
        _check_palette_out(args.palette_out, n_colors, args.force)
    if palette is None and args.shared_palette:
        palette = _shared_palette(jobs, settings, fixed)
        jobs = [replace(job, palette=palette) for job in jobs]
    if palette is not None and args.palette_out is not None:
        try:
            save_palette(palette, args.palette_out)
        except (OSError, ValueError) as error:
            raise UserError(f"--palette-out {args.palette_out}: cannot write: {error}") from None
    return jobs


def _file_key(path: Path) -> tuple[object, ...]:
    """What identifies the file at ``path``: its device and inode when it exists (so that links,
    hard ones included, to one file compare equal), else its resolved path."""
    try:
        stat = path.stat()
    except OSError:
        return ("path", str(path.resolve()))
    return ("inode", stat.st_dev, stat.st_ino)


def _files_read(
    jobs: list[Job], palette_in: Path | None
) -> dict[tuple[object, ...], tuple[str, Path | None]]:
    """The files a run reads, as :func:`_check_paths` starts its table: file -> (what it is, None)."""
    roles: dict[tuple[object, ...], tuple[str, Path | None]] = {}
    read = [(job.source, f"the input {job.source}") for job in jobs]
    if palette_in is not None:
        read.append((palette_in, f"the --palette-in file {palette_in}"))
    for path, role in read:
        if path != STDIO:
            roles.setdefault(_file_key(path), (role, None))
    return roles


def _check_paths(jobs: list[Job], args: argparse.Namespace) -> None:
    """No file the run writes may be one it reads, and no two things it writes may share a file.

    This holds whatever ``--force`` says: it only allows replacing files that are neither.
    """
    # file -> (what it is, the input whose output it is: None for a file that is read)
    roles = _files_read(jobs, args.palette_in)
    written = [(job.target, f"the output of {job.source_name}", job.source) for job in jobs]
    if args.palette_out is not None:
        written.append((args.palette_out, "the --palette-out file", args.palette_out))
    for path, role, origin in written:
        if path == STDIO:
            continue
        other, other_origin = roles.setdefault(_file_key(path), (role, origin))
        if other_origin is origin:
            continue
        if other_origin is None:
            raise UserError(
                f"{path} would be written as {role} but is {other}: an input is never overwritten"
            )
        if _file_key(other_origin) == _file_key(origin):
            raise UserError(f"{origin} is given twice")
        if args.palette_out in (origin, other_origin):
            raise UserError(f"{path} would be written twice, as {other} and as {role}")
        raise UserError(
            f"{other_origin} and {origin} would both be written to {path}; rename one, or run them separately"
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


# --- signals ----------------------------------------------------------------------------------------

#: Signals that stop a run: each removes the unfinished temporary files and exits 128 + its number.
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    for stop in STOP_SIGNALS:  # a second Ctrl+C must not interrupt the clean-up
        signal.signal(stop, signal.SIG_IGN)
    raise Interrupted(signum)


def _worker_stop(signum: int, frame: FrameType | None) -> None:
    """In a worker: delete its temporary files and end at once (unwinding would let the pool's
    loop catch the exception and take the next image)."""
    remove_temporaries()
    os._exit(128 + signum)


def _worker_init(parent: int) -> None:
    """Workers stop on SIGTERM, the parent alone decides on SIGINT (a Ctrl+C reaches the whole
    process group), and on Linux a worker gets SIGTERM when its parent dies, even by SIGKILL,
    instead of finishing its image and hanging on a pipe nobody reads."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_stop)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, _worker_stop)
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1  # <linux/prctl.h>
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the line above
            _worker_stop(signal.SIGTERM, None)


def _stop_workers() -> None:
    for child in multiprocessing.active_children():
        child.terminate()
    for child in multiprocessing.active_children():
        child.join(timeout=5)


@contextlib.contextmanager
def _outcomes(jobs: list[Job], workers: int) -> Iterator[Iterable[Outcome]]:
    """The outcome of each job, in order: in this process, or in ``workers`` processes that
    are stopped (their temporary files removed) if the caller is interrupted."""
    if workers <= 1:
        yield map(_process, jobs)
        return
    # spawn, not Python 3.14's default forkserver on Linux: a worker must be a child of this
    # process for PR_SET_PDEATHSIG to stop it when this process is killed (a forkserver outlives
    # it and keeps the caller's stdout open), and fork is unsafe with BLAS threads running.
    executor = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_init,
        initargs=(os.getpid(),),
    )
    try:
        # submit, not map: map's clean-up cancels queued futures, which the pool then fails to mark
        # broken once its workers are stopped (InvalidStateError from its thread on Python 3.11)
        futures = [executor.submit(_process, job) for job in jobs]
        yield (future.result() for future in futures)
    except BaseException:
        _stop_workers()
        raise
    finally:
        executor.shutdown(wait=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 all done, 1 something failed, 128 + N after
    signal N)."""
    args = _parser().parse_args(argv)
    previous = {signum: signal.signal(signum, _raise_interrupted) for signum in STOP_SIGNALS}
    try:
        return _main(args)
    except (Interrupted, KeyboardInterrupt) as stop:
        remove_temporaries()
        signum = stop.signum if isinstance(stop, Interrupted) else signal.SIGINT
        name = signal.Signals(signum).name
        print(f"kmeans-quantize: stopped by {name}; unfinished outputs were not written", file=sys.stderr)
        return 128 + signum
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _main(args: argparse.Namespace) -> int:
    try:
        jobs = _plan(args)
    except UserError as error:
        print(f"kmeans-quantize: error: {error}", file=sys.stderr)
        return 1
    show_progress = not args.quiet and sys.stderr.isatty()
    to_stdout = any(job.target == STDIO for job in jobs)
    failed = 0
    with _outcomes(jobs, min(args.jobs, len(jobs))) as outcomes:
        for done, outcome in enumerate(outcomes, start=1):
            if outcome.error is not None:
                failed += 1
                print(f"kmeans-quantize: error: {outcome.error}", file=sys.stderr)
                continue
            if outcome.output is not None:
                sys.stdout.buffer.write(outcome.output)
                sys.stdout.buffer.flush()
            if show_progress:
                print(f"[{done}/{len(jobs)}] {outcome.source} -> {outcome.target}", file=sys.stderr)
            if outcome.report is not None:
                # the report goes to stderr when stdout carries the image
                print(_format_report(outcome), file=sys.stderr if to_stdout else sys.stdout)
    if failed and len(jobs) > 1:
        print(f"kmeans-quantize: {failed} of {len(jobs)} images failed", file=sys.stderr)
    return 1 if failed else 0
