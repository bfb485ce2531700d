"""Fixtures for the GIMP 3 suite: one GIMP start runs every scenario, the tests check the output.

Without a way to run GIMP 3 here the suite skips with the reason, or fails when
KMQ_REQUIRE_GIMP=1 (CI sets it), so that a missing GIMP never passes silently.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gimp_harness import ENGINES, NO_NUMPY, Gimp3, find_gimp3
from PIL import Image

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

#: What was tested, for the end of pytest's report (GIMP, Python and numpy versions).
TESTED: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in TESTED:
        terminalreporter.write_line(line)


@dataclass
class GimpRun:
    """What a batch run left behind: results.json and the arrays of each scenario."""

    results: dict[str, Any]
    arrays: dict[str, dict[str, np.ndarray]]
    seconds: float
    engine: str = "numpy"

    def facts(self, scenario: str) -> dict[str, Any]:
        facts = self.results.get(scenario)
        assert facts is not None, f"scenario {scenario} did not run; results: {sorted(self.results)}"
        assert "traceback" not in facts, f"scenario {scenario} raised inside GIMP:\n{facts['traceback']}"
        return facts


@pytest.fixture(scope="session")
def gimp3() -> Gimp3:
    found = find_gimp3()
    if isinstance(found, str):
        if os.environ.get("KMQ_REQUIRE_GIMP") == "1":
            pytest.fail(f"KMQ_REQUIRE_GIMP=1 but GIMP 3 cannot run here: {found}")
        pytest.skip(found)
    return found


def output(done: subprocess.CompletedProcess[str]) -> str:
    """A finished process's exit status and the ends of its output, for an assertion message."""
    return f"exit {done.returncode}\n--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"


def run_script(
    gimp3: Gimp3,
    script: str,
    inputs: dict[str, np.ndarray] | None = None,
    files: dict[str, str] | None = None,
    engine: str = "numpy",
    gui: bool = False,
    env: dict[str, str] | None = None,
) -> GimpRun:
    """Run tests/gimp/``script`` in GIMP; collect the results.json and .npz files it writes.

    ``inputs`` become out/input-<name>.raw files with their shapes and dtypes in inputs.json
    (the scripts read them without numpy), ``files`` (relative path: text) are written into the
    workspace, and GIMP runs with the environment of ``engine`` (:data:`ENGINES`) plus ``env``
    (values may name workspace paths as "{workspace}/..."). A script's arrays come back from the
    .raw files it names in arrays.json; the previews the plug-in logged in out/preview.log (see
    KMQ_PREVIEW_LOG in the plug-in) as ``results["previews"]`` and arrays ``preview-<n>``.
    """
    files = {**(files or {}), "no-numpy/numpy/__init__.py": NO_NUMPY}
    with gimp3.workspace() as space:
        out = space.host / "out"
        out.mkdir()
        shapes = {}
        for name, array in (inputs or {}).items():
            (out / f"input-{name}.raw").write_bytes(np.ascontiguousarray(array).tobytes())
            shapes[name] = [list(array.shape), array.dtype.name]
        (out / "inputs.json").write_text(json.dumps(shapes))
        for relative, text in files.items():
            (space.host / relative).parent.mkdir(parents=True, exist_ok=True)
            (space.host / relative).write_text(text)
        shutil.copy(HERE / script, space.host / script)
        variables = {**ENGINES[engine], **(env or {})}
        environment = {key: value.format(workspace=space.inside) for key, value in variables.items()}
        start = time.perf_counter()
        done = gimp3.batch(space, space.path(script), {"KMQ_GIMP_OUT": space.path("out"), **environment}, gui)
        seconds = time.perf_counter() - start
        log = output(done)
        assert done.returncode == 0, f"GIMP ({gimp3.describe()}) failed:\n{log}"
        results_file = out / "results.json"
        assert results_file.exists(), f"the script wrote no results.json:\n{log}"
        results = json.loads(results_file.read_text())
        arrays: dict[str, dict[str, np.ndarray]] = {}
        listed = out / "arrays.json"
        for scenario, named in (json.loads(listed.read_text()) if listed.exists() else {}).items():
            arrays[scenario] = {
                name: np.fromfile(out / f"{scenario}-{name}.raw", dtype).reshape(shape)
                for name, (shape, dtype) in named.items()
            }
        shot = out / "preview-shot.ppm"
        if shot.exists() and shot.stat().st_size:
            with Image.open(shot) as captured:
                arrays["preview-shot"] = {"rgb": np.asarray(captured.convert("RGB"))}
        previews = out / "preview.log"
        if previews.exists():
            results["previews"] = [json.loads(line) for line in previews.read_text().splitlines()]
            for number, entry in enumerate(results["previews"]):
                shape = [entry["size"][1], entry["size"][0], entry["channels"]]
                arrays[f"preview-{number}"] = {
                    kind: np.fromfile(out / f"preview.log-{number}-{kind}.raw", np.uint8).reshape(shape)
                    for kind in ("proxy", "preview")
                }
                if entry.get("coverage"):
                    coverage = np.fromfile(out / f"preview.log-{number}-coverage.raw", entry["coverage"])
                    arrays[f"preview-{number}"]["coverage"] = coverage.reshape(shape[:2])
    return GimpRun(results, arrays, seconds, engine)


def photo_like(height: int, width: int, seed: int) -> np.ndarray:
    """An 8-bit RGB image with smooth gradients, hard edges and noise, as photos have."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    y /= height
    x /= width
    phase = rng.uniform(0, 3)
    red = 0.5 + 0.45 * np.sin(3.0 * x + 2.0 * y + phase)
    green = 0.15 + 0.8 * y * (1 - 0.5 * x)
    blue = 0.9 - 0.7 * x * y
    image = np.stack([red, green, blue], axis=-1)
    centre = rng.uniform(0.3, 0.7, size=2)
    disc = (x - centre[0]) ** 2 + (y - centre[1]) ** 2 < 0.05
    image[disc] = rng.uniform(0, 1, size=3)
    image += rng.normal(0, 0.03, size=image.shape)
    return np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def inputs() -> dict[str, np.ndarray]:
    photo = photo_like(80, 96, seed=1)
    rng = np.random.default_rng(2)
    alpha = np.full(photo.shape[:2], 255, np.uint8)
    alpha[:, :30] = 0  # fully transparent: must not be fitted, stored colours kept
    alpha[:, 30:40] = 128
    hidden = photo.copy()
    hidden[:, :30] = (255, 0, 255)  # a colour only transparent pixels hold
    photo16 = photo.astype(np.uint16) * 257 + rng.integers(0, 200, photo.shape, dtype=np.uint16)
    clear_band = np.dstack([hidden, np.where(alpha == 0, 0, 255).astype(np.uint8)])
    return {
        "photo": photo,
        "clear_band": clear_band,
        "photo2": photo_like(80, 96, seed=5),
        "rgba": np.dstack([hidden, alpha]),
        "gray": photo_like(64, 70, seed=3)[..., 1],
        "photo16": photo16,
        "photofloat": (photo16 / 65535.0).astype(np.float32),
    }


@pytest.fixture(scope="session", params=list(ENGINES))
def gimp_run(request: pytest.FixtureRequest, gimp3: Gimp3, inputs: dict[str, np.ndarray]) -> GimpRun:
    """Every scenario of in_gimp.py, in one GIMP start per engine."""
    run = run_script(gimp3, "in_gimp.py", inputs, engine=request.param)
    versions = run.results.get("versions", {})
    if "gimp" in versions:
        TESTED.append(
            f"tested in GIMP {versions['gimp']} (Python {versions['python']}, numpy {versions['numpy']}), "
            f"{request.param} engine: {gimp3.describe()}"
        )
    return run


@pytest.fixture(scope="session", params=list(ENGINES))
def gui_run(request: pytest.FixtureRequest, gimp3: Gimp3) -> GimpRun:
    """Undo, the dialog, last values and the dialog's preview, in GIMP with its windows on Xvfb,
    with each engine. The plug-in logs every preview it draws (KMQ_PREVIEW_LOG)."""
    return run_script(
        gimp3,
        "in_gimp_gui.py",
        engine=request.param,
        gui=True,
        env={"KMQ_PREVIEW_LOG": "{workspace}/out/preview.log"},
    )


@pytest.fixture(scope="session")
def user_install_run(gimp3: Gimp3) -> dict[str, Any]:
    """gimp_plugin/install.py without --plugin-dir, as a user runs it, between two starts of GIMP
    with its default per-user profile under the workspace's HOME (the first start creates it).

    install.py runs where GIMP does (the root's python3, or this Python for a host GIMP), and both
    run with numpy hidden, as GIMP's own Python on Windows, macOS and Flatpak has none. Returns
    what in_gimp_user_profile.py saw ``before`` and ``after`` the install, and install.py's output.
    """
    facts: dict[str, Any] = {}
    with gimp3.workspace() as space:
        (space.host / "home").mkdir(exist_ok=True)
        skip = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(REPO / "gimp_plugin", space.host / "checkout" / "gimp_plugin", ignore=skip)
        package = Path("core") / "kmeans_quantize"
        shutil.copytree(REPO / package, space.host / "checkout" / package, ignore=skip)
        shutil.copy(HERE / "in_gimp_user_profile.py", space.host)
        (space.host / "no-numpy" / "numpy").mkdir(parents=True)
        (space.host / "no-numpy" / "numpy" / "__init__.py").write_text(NO_NUMPY)
        no_numpy = {"PYTHONPATH": space.path("no-numpy")}
        for step in ("before", "after"):
            if step == "after":
                python = "python3" if gimp3.root is not None else sys.executable
                install = [python, space.path("checkout", "gimp_plugin", "install.py")]
                done = subprocess.run(
                    gimp3.command(space, install, no_numpy, user_profile=True),
                    capture_output=True,
                    text=True,
                    timeout=300,
                    stdin=subprocess.DEVNULL,
                )
                assert done.returncode == 0, f"install.py failed:\n{done.stdout}\n{done.stderr}"
                facts["install_output"] = done.stdout
            result = space.path(f"{step}.json")
            done = gimp3.batch(
                space,
                space.path("in_gimp_user_profile.py"),
                {"KMQ_GIMP_RESULT": result, **no_numpy},
                user_profile=True,
            )
            assert done.returncode == 0, f"GIMP ({gimp3.describe()}) failed:\n{output(done)}"
            facts[step] = json.loads((space.host / f"{step}.json").read_text())
    return facts
