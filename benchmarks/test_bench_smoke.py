"""Smoke test of ``bench_peers.py``: a tiny run must produce well-formed outputs.

Runs ``bench_peers.py --smoke`` (one small image, K=16, one run, three methods, no GIMP, no
memory child, no download) in a subprocess and checks the shape of what it writes, not the
figures. Run from the repository root with the bench extra installed::

    pytest benchmarks/test_bench_smoke.py          # or: tox -e bench-smoke
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from benchlib.peers import SMOKE_METHODS
from PIL import Image

SCRIPT = Path(__file__).resolve().parent / "bench_peers.py"
ROW_KEYS = {
    "image",
    "megapixels",
    "unique_colors",
    "k",
    "method",
    "times",
    "seconds",
    "mse",
    "psnr",
    "delta_e",
    "peak_mb",
    "status",
}


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of one ``--smoke`` run (shared by the tests of this module)."""
    folder = tmp_path_factory.mktemp("peers")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--out-dir", str(folder)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"bench_peers.py --smoke failed:\n{done.stdout}\n{done.stderr}"
    return folder


def test_report_has_the_table_and_a_row_per_method(out_dir: Path) -> None:
    text = (out_dir / "peers.md").read_text(encoding="utf-8")
    assert "| method | K=16 s | MSE | PSNR | ΔE00 | vs ours-rgb |" in text
    for method in SMOKE_METHODS:
        rows = re.findall(rf"^\| (?:\*\*)?{re.escape(method)}(?:\*\*)? \|.*\|$", text, flags=re.MULTILINE)
        assert len(rows) == 1, f"expected one table row for {method}, found {len(rows)}"
    assert "## Targets" in text
    assert "command:" in text and "CPU:" in text


def test_json_rows_are_complete_and_finite(out_dir: Path) -> None:
    document = json.loads((out_dir / "peers.json").read_text(encoding="utf-8"))
    assert document["complete"] is True
    rows: list[dict[str, Any]] = document["rows"]
    assert sorted(row["method"] for row in rows) == sorted(SMOKE_METHODS)
    for row in rows:
        assert ROW_KEYS <= row.keys(), f"missing keys in {row['method']}: {ROW_KEYS - row.keys()}"
        assert row["status"] == "ok", row
        assert row["k"] == 16
        assert row["unique_colors"] > 16 and row["megapixels"] > 0
        for key in ("mse", "seconds", "psnr", "delta_e"):
            assert isinstance(row[key], float) and math.isfinite(row[key]) and row[key] > 0, (key, row)
        assert len(row["times"]) == 1 and row["times"][0] > 0


@pytest.mark.parametrize("name", ["peers-pareto.png", "peers-strip.png"])
def test_plots_open_with_a_sensible_size(out_dir: Path, name: str) -> None:
    with Image.open(out_dir / name) as picture:
        picture.load()
        width, height = picture.size
        assert picture.format == "PNG"
    assert 300 <= width <= 5000 and 150 <= height <= 5000, (width, height)
