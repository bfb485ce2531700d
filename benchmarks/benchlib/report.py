"""Reporting the peer comparison: tables, the checks against the targets, figures, files."""

from __future__ import annotations

import io
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib.data import HUGE_NAME, LoadedImage, RGBImage
from benchlib.measure import (
    DELTA_E_FULL_MAX_MP,
    DELTA_E_SAMPLE,
    LIMIT_BYTES,
    MB,
    Row,
    Settings,
    machine_facts,
)
from benchlib.peers import (
    ALL_METHODS,
    GIMP,
    METHOD_NOTES,
    ONCE_ON_LARGE,
    OUR_METHODS,
    OURS,
    SEED,
    SLOW_METHODS,
    peer_versions,
)


def table_text(text: str, limit: int = 90) -> str:
    """Text safe inside a Markdown table cell, cut to ``limit`` characters."""
    flat = " ".join(text.replace("|", "/").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _bold_if(text: str, condition: bool) -> str:
    return f"**{text}**" if condition else text


def ratio_text(peer: Row, our: Row | None) -> str:
    """Peer time over ours-rgb time, e.g. "6.6×" (above 1: ours is faster)."""
    if our is None or our.seconds is None or peer.seconds is None:
        return "–"
    ratio = peer.seconds / our.seconds
    if ratio >= 10:
        return f"{ratio:.1f}×"
    return f"{ratio:.2f}×" if ratio >= 0.1 else f"{ratio:.2g}×"


def _cells(
    row: Row | None, our: Row | None, best_mse: float | None, best_de: float | None, repeat: int
) -> list[str]:
    """The five cells of one method and K: time, MSE, PSNR, CIEDE2000, ratio (or peak memory)."""
    if row is None:
        return ["–"] * 5
    if row.status != "ok":
        return [f"{row.status}: {table_text(row.note, 70)}", "–", "–", "–", "–"]
    seconds = "–" if row.seconds is None else f"{row.seconds:.3f}"
    if len(row.times) < repeat:
        seconds += "†"
    if row.mse is None or row.psnr is None or row.delta_e is None:
        return [seconds, "–", "–", "–", "–"]
    if row.method == OURS:
        last = "–" if row.peak_mb is None else f"peak {row.peak_mb:,.0f} MB"
    else:
        last = ratio_text(row, our)
    return [
        seconds,
        _bold_if(f"{row.mse:.2f}", row.mse == best_mse),
        f"{row.psnr:.2f}",
        _bold_if(f"{row.delta_e:.3f}", row.delta_e == best_de),
        last,
    ]


def image_table(rows: list[Row], ks: list[int], methods: list[str], repeat: int) -> list[str]:
    """Markdown table of one image: a row per method, five columns per K."""
    by_key = {(row.method, row.k): row for row in rows}
    head = ["method"]
    for k in ks:
        head += [f"K={k} s", "MSE", "PSNR", "ΔE00", "vs ours-rgb"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    best: dict[int, tuple[float | None, float | None]] = {}
    for k in ks:
        scored = [row for row in rows if row.k == k and row.mse is not None and row.status == "ok"]
        best[k] = (
            min((row.mse for row in scored if row.mse is not None), default=None),
            min((row.delta_e for row in scored if row.delta_e is not None), default=None),
        )
    for method in methods:
        name = f"**{method}**" if method in OUR_METHODS else method
        cells = [name]
        for k in ks:
            cells += _cells(by_key.get((method, k)), by_key.get((OURS, k)), *best[k], repeat)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


@dataclass
class Check:
    """One target on one image and K: PASS, FAIL or n/a, and the figures behind it."""

    verdict: str
    detail: str

    def cell(self) -> str:
        return f"{self.verdict} ({self.detail})" if self.detail else self.verdict


NA = Check("n/a", "")


def _combine(parts: list[tuple[bool | None, str]]) -> Check:
    """PASS if every comparison that could be made passed, FAIL if one failed, else n/a."""
    made = [(passed, text) for passed, text in parts if passed is not None]
    if not made:
        return Check("n/a", "; ".join(text for _, text in parts))
    verdict = "PASS" if all(passed for passed, _ in made) else "FAIL"
    return Check(verdict, "; ".join(text for _, text in parts))


def check_quality(group: dict[str, Row]) -> Check:
    """Target 1: ours-rgb MSE <= the best peer's MSE."""
    our = group.get(OURS)
    peers = [row for name, row in group.items() if name not in OUR_METHODS and row.mse is not None]
    if our is None or our.mse is None or not peers:
        return NA
    best = min(peers, key=lambda row: row.mse or 0.0)
    assert best.mse is not None
    gap = (our.mse / best.mse - 1.0) * 100.0
    text = f"{our.mse:.3f} vs {best.method} {best.mse:.3f}, {gap:+.1f} %"
    skipped = [name for name, row in group.items() if row.status == "skipped"]
    if skipped:
        text += f"; not run here: {', '.join(skipped)}"
    return _combine([(our.mse <= best.mse, text)])


#: Target 2 applies to images of at least this many megapixels.
SPEED_TARGET_MIN_MP = 4.0

#: Target 2: the largest allowed ratio of our time to imagequant's, per K.
IMAGEQUANT_TIME_SHARE = {64: 0.5, 256: 1.0}

SKLEARN_SPEEDUP = 20.0


def check_speed(group: dict[str, Row], megapixels: float, k: int) -> Check:
    """Target 2 (images >= 4 MP): vs imagequant at K=64 and 256, and >= 20x faster than sklearn-unique."""
    our = group.get(OURS)
    if megapixels < SPEED_TARGET_MIN_MP or our is None or our.seconds is None:
        return NA
    parts: list[tuple[bool | None, str]] = []
    quant = group.get("imagequant")
    if k in IMAGEQUANT_TIME_SHARE:
        share = IMAGEQUANT_TIME_SHARE[k]
        if quant is not None and quant.seconds is not None:
            parts.append(
                (
                    our.seconds <= share * quant.seconds,
                    f"ours {our.seconds:.2f} s vs imagequant {quant.seconds:.2f} s, need ≤ {share:g}×",
                )
            )
        else:
            parts.append((None, "imagequant not measured"))
    sk = group.get("sklearn-unique")
    if sk is not None and sk.seconds is not None:
        speedup = sk.seconds / our.seconds
        parts.append(
            (
                speedup >= SKLEARN_SPEEDUP,
                f"{speedup:.1f}× faster than sklearn-unique, need ≥ {SKLEARN_SPEEDUP:g}×",
            )
        )
    return _combine(parts) if parts else NA


def check_perceptual(group: dict[str, Row], mine: str) -> Check:
    """Target 3, for ours-lab or ours-oklab: CIEDE2000 <= gimp-indexed's and <= sklearn-unique-lab's."""
    our = group.get(mine)
    if our is None or our.delta_e is None:
        return NA
    parts: list[tuple[bool | None, str]] = []
    for peer_name in (GIMP, "sklearn-unique-lab"):
        peer = group.get(peer_name)
        if peer is not None and peer.delta_e is not None:
            parts.append(
                (our.delta_e <= peer.delta_e, f"{our.delta_e:.3f} vs {peer_name} {peer.delta_e:.3f}")
            )
    return _combine(parts) if parts else NA


MEMORY_TARGET = (HUGE_NAME, 256)


def check_memory(group: dict[str, Row], image: str, k: int) -> Check:
    """Target 4: ours-rgb peak below 1.5 GB on the 24 MP image at K=256."""
    our = group.get(OURS)
    if (image, k) != MEMORY_TARGET or our is None or our.peak_mb is None:
        return NA
    limit = LIMIT_BYTES / MB
    return _combine([(our.peak_mb < limit, f"peak {our.peak_mb:,.0f} MB, limit {limit:,.0f} MB")])


def summary(rows: list[Row], images: list[LoadedImage], ks: list[int]) -> list[str]:
    """Markdown table of the four targets per image and K, and PASS/FAIL counts."""
    groups: dict[tuple[str, int], dict[str, Row]] = {}
    for row in rows:
        groups.setdefault((row.image, row.k), {})[row.method] = row
    labels = [
        "1 quality: ours-rgb MSE",
        "2 speed (≥ 4 MP)",
        "3 perceptual: ours-lab ΔE00",
        "3 perceptual: ours-oklab ΔE00",
        "4 memory (24 MP, K=256)",
    ]
    lines = ["| image | K | " + " | ".join(labels) + " |", "|---|---:|" + "---|" * len(labels)]
    tally = {label: {"PASS": 0, "FAIL": 0} for label in labels}
    for image in images:
        for k in ks:
            group = groups.get((image.name, k))
            if group is None:
                continue
            checks = [
                check_quality(group),
                check_speed(group, image.megapixels, k),
                check_perceptual(group, "ours-lab"),
                check_perceptual(group, "ours-oklab"),
                check_memory(group, image.name, k),
            ]
            for label, check in zip(labels, checks, strict=True):
                if check.verdict in tally[label]:
                    tally[label][check.verdict] += 1
            lines.append(f"| {image.name} | {k} | " + " | ".join(check.cell() for check in checks) + " |")
    lines.append("")
    for label, counts in tally.items():
        lines.append(f"- target {label}: {counts['PASS']} PASS, {counts['FAIL']} FAIL (other cells n/a)")
    return lines


def conventions(settings: Settings) -> list[str]:
    """The rules the figures follow, as Markdown list lines."""
    return [
        "Conventions:",
        f"- time: wall seconds, median of {settings.repeat} run(s), methods interleaved in this process "
        "(each round runs every method once; the order alternates), uint8 RGB in, uint8 RGB out; "
        f"gimp-indexed: the conversion alone, timed inside GIMP, {settings.repeat} run(s)",
        f"- on images above {settings.slow_above_mp:g} MP the slow peers ({', '.join(SLOW_METHODS)}) run "
        f'once and only for K ≤ {settings.slow_max_k} ("skipped" otherwise), and '
        f"{' and '.join(ONCE_ON_LARGE)} (no target judges their speed) run once; such times are marked †",
        "- MSE: mean over pixels AND channels of the squared error on the 0-255 scale (some papers, e.g. "
        "Celebi, sum over the channels: 3× this); PSNR = 10 log10(255² / MSE); best MSE per image and K "
        "in bold",
        f"- ΔE00: mean CIEDE2000 (kmeans_quantize.metrics.mean_delta_e_2000); on images above "
        f"{DELTA_E_FULL_MAX_MP:g} MP over a fixed random sample of {DELTA_E_SAMPLE:,} pixels "
        f"(numpy default_rng({SEED}), without replacement, the same pixels for every method); best in bold",
        "- vs ours-rgb: the method's time / ours-rgb's time, i.e. how many times faster ours-rgb is "
        "(above 1: ours faster). The ours-rgb row shows instead its peak resident memory, measured "
        "in a fresh child process that loads the image from a .npy and runs quantize: VmHWM of the "
        "child, input array included, nothing subtracted; MB = 10^6 bytes. (Not ru_maxrss: Linux "
        "copies the parent's peak into a child's ru_maxrss at exec.)",
        "- no method dithers; methods:",
        *[f"  - {name}: {note}" for name, note in METHOD_NOTES.items() if name in settings.methods],
    ]


def report(
    rows: list[Row],
    images: list[LoadedImage],
    uniques: dict[str, int],
    settings: Settings,
    load_at_start: str,
    gimp_facts: dict[str, Any],
    notes: list[str],
    complete: bool,
) -> str:
    """The whole Markdown report."""
    facts = [line.replace("the two methods", "the methods") for line in machine_facts(load_at_start)]
    lines = ["# kmeans-quantize against its peers", ""]
    if not complete:
        lines += ["**Partial report: the run is still going (or was interrupted).**", ""]
    lines += [*facts, peer_versions(gimp_facts), "", *conventions(settings), "", "## Results", ""]
    methods = [name for name in ALL_METHODS if name in settings.methods]
    for image in images:
        image_rows = [row for row in rows if row.image == image.name]
        if not image_rows:
            continue
        height, width = image.pixels.shape[:2]
        lines += [
            f"### {image.name}: {width}x{height} ({image.megapixels:.2f} MP), "
            f"{uniques[image.name]:,} unique colours",
            "",
            f"Source: {image.source}.",
            "",
            *image_table(image_rows, settings.ks, methods, settings.repeat),
            "",
        ]
    lines += [
        "## Targets (ours-rgb unless named; no dithering)",
        "",
        "1. Quality: ours-rgb MSE ≤ the best peer's MSE (any peer, sklearn-unique included).",
        f"2. Speed, on images ≥ {SPEED_TARGET_MIN_MP:g} MP: K=64 ours ≤ ½ imagequant's time; K=256 ours ≤ "
        "imagequant's; ours ≥ 20× faster than sklearn-unique (where it ran).",
        "3. Perceptual: ours-lab and ours-oklab ΔE00 ≤ gimp-indexed's and ≤ sklearn-unique-lab's.",
        f"4. Memory: {HUGE_NAME} (24 MP) at K=256, ours-rgb peak < {LIMIT_BYTES / MB:,.0f} MB.",
        "",
        *summary(rows, images, settings.ks),
    ]
    if notes:
        lines += ["", "## Notes", "", *notes]
    return "\n".join(lines) + "\n"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def method_styles(methods: list[str]) -> dict[str, dict[str, Any]]:
    """Marker, colour and size per method; ours stand out (large, red shades, black edge)."""
    plt = _pyplot()
    palette = plt.get_cmap("tab10").colors
    markers = "osD^v<>ph*X"
    our_colours = {"ours-rgb": "#d62728", "ours-lab": "#ff7f0e", "ours-oklab": "#8c564b"}
    styles: dict[str, dict[str, Any]] = {}
    peers = [name for name in methods if name not in OUR_METHODS]
    for name in methods:
        if name in OUR_METHODS:
            styles[name] = {
                "marker": "*",
                "color": our_colours[name],
                "s": 180,
                "edgecolors": "black",
                "zorder": 3,
            }
        else:
            index = peers.index(name)
            styles[name] = {
                "marker": markers[index % len(markers)],
                "color": palette[index % 10],
                "s": 40,
                "zorder": 2,
            }
    return styles


def save_figure(figure: Any, path: Path) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    write_atomic(path, buffer.getvalue())


def pareto_plot(rows: list[Row], images: list[LoadedImage], settings: Settings, path: Path) -> None:
    """A grid of panels (image × K): MSE against time (log), one marker per method."""
    plt = _pyplot()
    names = [image.name for image in images if any(row.image == image.name for row in rows)]
    methods = [name for name in ALL_METHODS if name in settings.methods]
    styles = method_styles(methods)
    columns = len(settings.ks)
    figure, axes = plt.subplots(
        len(names),
        columns,
        figsize=(max(8.0, 4.2 * columns), 3.0 * len(names) + 1.2),
        squeeze=False,
        layout="constrained",
    )
    from matplotlib.ticker import FormatStrFormatter, NullFormatter

    no_labels, plain = NullFormatter(), FormatStrFormatter("%g")
    for i, name in enumerate(names):
        for j, k in enumerate(settings.ks):
            axis = axes[i][j]
            for row in rows:
                if row.image == name and row.k == k and row.seconds is not None and row.mse is not None:
                    axis.scatter([row.seconds], [row.mse], label=row.method, **styles[row.method])
            axis.set_xscale("log")
            axis.set_yscale("log")
            axis.xaxis.set_minor_formatter(no_labels)
            axis.yaxis.set_major_formatter(plain)
            axis.yaxis.set_minor_formatter(plain)
            axis.set_title(f"{name}, K={k}", fontsize=9)
            axis.tick_params(which="both", labelsize=7)
            axis.grid(True, which="both", alpha=0.3)
            if j == 0:
                axis.set_ylabel("MSE (0-255, per channel; log)", fontsize=8)
            if i == len(names) - 1:
                axis.set_xlabel("time (s, log)", fontsize=8)
    handles = [
        plt.Line2D(
            [],
            [],
            linestyle="",
            marker=style["marker"],
            color=style["color"],
            markeredgecolor=style.get("edgecolors", style["color"]),
            markersize=10 if name in OUR_METHODS else 6,
            label=name,
        )
        for name, style in styles.items()
        if any(row.method == name and row.seconds is not None and row.mse is not None for row in rows)
    ]
    figure.suptitle("MSE against time per image and K: lower left is better; stars are ours", fontsize=11)
    width = figure.get_size_inches()[0]
    figure.legend(
        handles=handles, loc="outside lower center", ncol=min(len(handles), int(width // 2)), fontsize=8
    )
    save_figure(figure, path)
    plt.close(figure)


def strip_plot(crops: dict[str, RGBImage], title: str, path: Path) -> None:
    """The original crop and each method's output side by side, labelled."""
    plt = _pyplot()
    columns = min(7, len(crops))
    lines = math.ceil(len(crops) / columns)
    figure, axes = plt.subplots(lines, columns, figsize=(2.0 * columns, 2.25 * lines + 0.4), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, (label, crop) in zip(axes.flat, crops.items(), strict=False):
        axis.imshow(crop, interpolation="nearest")
        axis.set_title(label, fontsize=8)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    save_figure(figure, path)
    plt.close(figure)


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write a file through a temporary file in the same folder and ``os.replace``."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(payload)
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; give it a normal file's mode
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
