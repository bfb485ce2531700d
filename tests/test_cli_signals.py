"""Stopping ``kmeans-quantize`` with a signal, with real processes: no temporary file stays
behind, no worker outlives the run, and the exit status says which signal stopped it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from images import gradient
from PIL import Image

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

#: Every wait in these tests is bounded by this many seconds.
BOUND = 60.0


def start(*args: str | Path, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "kmeans_quantize", *map(str, args)],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def temporaries(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith(".tmp"))


def wait_for_temporary(process: subprocess.Popen[bytes], folder: Path) -> list[str]:
    """Poll until a temporary output file exists (the write is under way); fail if the run ends
    first or takes too long."""
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        found = temporaries(folder)
        if found:
            return found
        assert process.poll() is None, "the run ended before it wrote anything"
        time.sleep(0.002)
    process.kill()
    pytest.fail("no temporary file appeared")


@pytest.fixture
def big_input(tmp_path: Path) -> Path:
    path = tmp_path / "big.png"
    Image.fromarray(gradient(1800, 2400)).save(path)
    return path


@pytest.mark.parametrize(
    ("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"]
)
def test_a_signal_during_a_write_leaves_no_temporary_file_and_one_line(
    big_input: Path, tmp_path: Path, signum: int, status: int
) -> None:
    process = start(big_input, "-k", "16", "--dither", "ordered", "-o", "out.png", cwd=tmp_path)
    wait_for_temporary(process, tmp_path)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=BOUND)
    assert process.returncode == status, stderr
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1 and signal.Signals(signum).name in lines[0], stderr
    assert "Traceback" not in stderr.decode()
    assert sorted(os.listdir(tmp_path)) == ["big.png"]


def test_a_sigkill_leftover_is_recognisable_and_does_not_stop_the_next_run(
    big_input: Path, tmp_path: Path
) -> None:
    process = start(big_input, "-k", "16", "--dither", "ordered", "-o", "out.png", cwd=tmp_path)
    (leftover,) = wait_for_temporary(process, tmp_path)
    process.kill()  # no program can clean up after SIGKILL
    process.communicate(timeout=BOUND)
    assert leftover.startswith(".out.png.kmeans-quantize-"), leftover
    assert not (tmp_path / "out.png").exists()
    again = subprocess.run(
        [sys.executable, "-m", "kmeans_quantize", big_input, "-k", "4", "-o", "out.png"],
        cwd=tmp_path,
        capture_output=True,
        timeout=BOUND,
    )
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "out.png").exists()


@pytest.mark.parametrize(
    "kill",
    [
        signal.SIGTERM,
        pytest.param(
            signal.SIGKILL,
            marks=pytest.mark.skipif(
                not sys.platform.startswith("linux"), reason="workers learn of a killed parent on Linux only"
            ),
        ),
    ],
    ids=["SIGTERM", "SIGKILL"],
)
def test_workers_die_with_the_parent_and_release_its_pipes(tmp_path: Path, kill: int) -> None:
    """With several inputs the images run in worker processes. Stopping the parent must stop
    them: a worker that finishes its image and writes it after the parent is gone, or keeps the
    caller's stdout open, hangs ``$(kmeans-quantize ...)`` forever."""
    inputs = []
    for index in range(4):
        inputs.append(tmp_path / f"in{index}.png")
        Image.fromarray(gradient(1800, 2400)).save(inputs[-1])
    out = tmp_path / "out"
    out.mkdir()
    process = start(*inputs, "-k", "16", "--dither", "ordered", "--out-dir", out, "-j", "2", cwd=tmp_path)
    time.sleep(1.0)  # the workers are busy with their first images
    assert process.poll() is None
    process.send_signal(kill)
    started = time.monotonic()
    # communicate() returns only when every holder of the pipes (the workers too) has closed them
    process.communicate(timeout=BOUND)
    assert time.monotonic() - started < 20
    written = sorted(os.listdir(out))
    time.sleep(2.0)  # a surviving worker would write its output now
    assert sorted(os.listdir(out)) == written
    assert temporaries(out) == []  # stopped workers remove theirs, even when the parent was killed
    if kill == signal.SIGTERM:
        assert process.returncode == 143
