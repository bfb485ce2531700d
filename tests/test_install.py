"""``gimp_plugin/install.py``, run for real as a subprocess into temporary plug-ins folders (no GIMP)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent
INSTALL_PY = REPO / "gimp_plugin" / "install.py"
PLUGIN_SOURCE = REPO / "gimp_plugin" / "kmeans-quantize"
SCRIPT_SOURCE = PLUGIN_SOURCE / "kmeans-quantize.py"
PACKAGE_SOURCE = REPO / "core" / "kmeans_quantize"

# Unix permission bits are meaningless on Windows (os.chmod only toggles read-only there).
posix_only = pytest.mark.skipif(os.name == "nt", reason="no exec bit on Windows")


def run_install(
    *args: str | Path, script: Path = INSTALL_PY, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def load_install_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kmq_gimp_install", INSTALL_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root by its POSIX path relative to root, with its contents."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()
    }


def source_tree() -> dict[str, bytes]:
    """What an install should hold, derived from the sources (build leftovers and hidden files left out)."""

    def wanted(relative: Path) -> bool:
        return not any(part == "__pycache__" or part.startswith(".") for part in relative.parts) and (
            relative.suffix not in (".pyc", ".pyo")
        )

    expected = {
        relative: data
        for relative, data in tree(PLUGIN_SOURCE).items()
        if wanted(Path(relative)) and not relative.startswith("kmeans_quantize/")
    }
    expected.update(
        {
            f"kmeans_quantize/{relative}": data
            for relative, data in tree(PACKAGE_SOURCE).items()
            if wanted(Path(relative))
        }
    )
    return expected


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One install shared by the read-only checks: (plug-ins folder, the install run)."""
    plugin_dir = tmp_path_factory.mktemp("plug-ins")
    result = run_install("--plugin-dir", plugin_dir)
    assert result.returncode == 0, result.stderr
    return plugin_dir, result


def test_install_layout(installed: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    plugin_dir, _ = installed
    folder = plugin_dir / "kmeans-quantize"
    assert sorted(os.listdir(plugin_dir)) == ["kmeans-quantize"]
    assert (folder / "kmeans-quantize.py").read_bytes() == SCRIPT_SOURCE.read_bytes()
    assert (folder / "kmeans_quantize" / "__init__.py").is_file()
    assert (folder / "kmeans_quantize" / "py.typed").is_file()
    for module in PACKAGE_SOURCE.glob("*.py"):
        assert (folder / "kmeans_quantize" / module.name).read_bytes() == module.read_bytes(), module.name
    installed_tree = tree(folder)
    assert not [name for name in installed_tree if "__pycache__" in name or name.endswith(".pyc")]
    assert installed_tree == source_tree()


@posix_only
def test_install_script_is_executable(installed: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    plugin_dir, _ = installed
    script = plugin_dir / "kmeans-quantize" / "kmeans-quantize.py"
    assert os.access(script, os.X_OK)
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    assert (
        stat.S_IMODE((plugin_dir / "kmeans-quantize" / "kmeans_quantize" / "__init__.py").stat().st_mode)
        == 0o644
    )


def test_install_output(installed: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    plugin_dir, result = installed
    assert str(plugin_dir / "kmeans-quantize" / "kmeans-quantize.py") in result.stdout
    assert "K-Means Quantize..." in result.stdout
    assert "numpy" in result.stdout
    assert result.stderr == ""


def test_vendored_package_is_imported_and_works(
    installed: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    # -I (isolated): no PYTHONPATH, no user site, no script/cwd on sys.path; with the plug-in folder
    # first on sys.path, the copy must win over the kmeans_quantize installed in the test environment.
    plugin_dir, _ = installed
    folder = plugin_dir / "kmeans-quantize"
    code = """
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import kmeans_quantize
from kmeans_quantize import quantize
print(kmeans_quantize.__file__)
pixels = np.random.default_rng(1).integers(0, 256, (16, 20, 3), dtype=np.uint8)
result = quantize(pixels, 5, seed=0)
assert result.image.shape == pixels.shape and result.image.dtype == np.uint8, result.image.dtype
assert 1 <= len(result.palette.colors) <= 5, result.palette
assert np.array_equal(result.image, result.palette.colors[result.labels])
print("distinct", len(np.unique(result.image.reshape(-1, 3), axis=0)))
"""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    result = subprocess.run(
        [sys.executable, "-I", "-c", code, str(folder)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    imported_from = Path(result.stdout.splitlines()[0]).resolve()
    assert imported_from == (folder / "kmeans_quantize" / "__init__.py").resolve()
    distinct = int(result.stdout.splitlines()[1].split()[1])
    assert 1 <= distinct <= 5


def test_install_creates_missing_parents(tmp_path: Path) -> None:
    plugin_dir = tmp_path / "a" / "b" / "plug-ins"
    result = run_install("--plugin-dir", plugin_dir)
    assert result.returncode == 0, result.stderr
    assert (plugin_dir / "kmeans-quantize" / "kmeans-quantize.py").is_file()


def test_install_with_relative_plugin_dir(tmp_path: Path) -> None:
    result = run_install("--plugin-dir", "plug-ins", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert tree(tmp_path / "plug-ins" / "kmeans-quantize") == source_tree()


def test_reinstall_replaces_old_install(tmp_path: Path) -> None:
    assert run_install("--plugin-dir", tmp_path).returncode == 0
    folder = tmp_path / "kmeans-quantize"
    # An older install: a module since removed, and a changed script.
    (folder / "kmeans_quantize" / "removed_module.py").write_text("x = 1\n")
    (folder / "kmeans-quantize.py").write_text("# old version\n")
    result = run_install("--plugin-dir", tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(tmp_path)) == ["kmeans-quantize"]  # no temporary folders left behind
    assert tree(folder) == source_tree()


@pytest.mark.parametrize("failing", ["copy", "swap"])
def test_failed_reinstall_keeps_the_old_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    # In-process, to make the file system fail part-way: while copying the new files, or when
    # renaming the new copy into place (after the old one was moved aside).
    install = load_install_module()
    assert run_install("--plugin-dir", tmp_path).returncode == 0
    folder = tmp_path / "kmeans-quantize"
    (folder / "kmeans-quantize.py").write_text("# old version\n")
    old_tree = tree(folder)
    with monkeypatch.context() as patch:
        if failing == "copy":
            real_copyfile = shutil.copyfile
            copied: list[str] = []

            def copyfile(source: Path, destination: Path) -> None:
                if len(copied) == 3:
                    raise PermissionError(13, "Permission denied", str(destination))
                copied.append(str(destination))
                real_copyfile(source, destination)

            patch.setattr(install.shutil, "copyfile", copyfile)
        else:
            real_rename = os.rename

            def rename(source: os.PathLike[str], destination: os.PathLike[str]) -> None:
                if Path(destination) == folder and Path(source).parent.name.startswith(
                    ".kmeans-quantize-new-"
                ):
                    raise PermissionError(13, "Permission denied", str(source), None, str(destination))
                real_rename(source, destination)

            patch.setattr(install.os, "rename", rename)
        with pytest.raises(PermissionError):
            install.install(tmp_path)
    if failing == "copy":
        assert len(copied) == 3
    assert tree(folder) == old_tree
    assert sorted(os.listdir(tmp_path)) == ["kmeans-quantize"]


def test_install_refuses_to_replace_a_foreign_folder(tmp_path: Path) -> None:
    foreign = tmp_path / "kmeans-quantize"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine\n")
    result = run_install("--plugin-dir", tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert tree(foreign) == {"notes.txt": b"mine\n"}
    assert sorted(os.listdir(tmp_path)) == ["kmeans-quantize"]


def test_install_skips_build_leftovers(tmp_path: Path) -> None:
    # A stand-in checkout (install.py finds its sources relative to itself) with __pycache__ and
    # .pyc files in it, which the real checkout may or may not have at the moment.
    checkout = tmp_path / "checkout"
    plugin_source = checkout / "gimp_plugin" / "kmeans-quantize"
    shutil.copytree(PLUGIN_SOURCE, plugin_source)
    shutil.copytree(PACKAGE_SOURCE, checkout / "core" / "kmeans_quantize")
    shutil.copy(INSTALL_PY, checkout / "gimp_plugin" / "install.py")
    for folder in (plugin_source, checkout / "core" / "kmeans_quantize"):
        (folder / "__pycache__").mkdir(exist_ok=True)
        (folder / "__pycache__" / "x.cpython-312.pyc").write_bytes(b"\0")
        (folder / "__pycache__" / "not-a-pyc.txt").write_bytes(b"\0")  # the whole folder is skipped
        (folder / "stray.pyc").write_bytes(b"\0")
    # A developer's copy of the package inside the plug-in folder: the one from core/ is installed.
    (plugin_source / "kmeans_quantize").mkdir()
    (plugin_source / "kmeans_quantize" / "dev_only.py").write_text("")
    plugin_dir = tmp_path / "plug-ins"
    result = run_install("--plugin-dir", plugin_dir, script=checkout / "gimp_plugin" / "install.py")
    assert result.returncode == 0, result.stderr
    names = tree(plugin_dir / "kmeans-quantize")
    assert sorted(names) == sorted(source_tree())
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


def test_missing_sources_is_a_one_line_error(tmp_path: Path) -> None:
    # install.py alone, without the plug-in folder or core/ beside it.
    lonely = tmp_path / "gimp_plugin" / "install.py"
    lonely.parent.mkdir()
    shutil.copy(INSTALL_PY, lonely)
    result = run_install("--plugin-dir", tmp_path / "plug-ins", script=lonely)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not found" in result.stderr
    assert not (tmp_path / "plug-ins" / "kmeans-quantize").exists()


def test_plugin_dir_is_a_file(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "plug-ins"
    not_a_folder.write_text("a file\n")
    result = run_install("--plugin-dir", not_a_folder)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert str(not_a_folder) in result.stderr
    assert not_a_folder.read_text() == "a file\n"


def test_uninstall_leaves_other_plugins(tmp_path: Path) -> None:
    other = tmp_path / "other-plugin"
    other.mkdir()
    (other / "other-plugin.py").write_text("print('hi')\n")
    assert run_install("--plugin-dir", tmp_path).returncode == 0
    result = run_install("--plugin-dir", tmp_path, "--uninstall")
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(tmp_path)) == ["other-plugin"]
    assert tree(other) == {"other-plugin.py": b"print('hi')\n"}


def test_uninstall_when_not_installed(tmp_path: Path) -> None:
    result = run_install("--plugin-dir", tmp_path, "--uninstall")
    assert result.returncode == 0, result.stderr
    assert "not installed" in result.stdout
    assert os.listdir(tmp_path) == []
    # A plug-ins folder that does not exist at all is "not installed" too, and is not created.
    result = run_install("--plugin-dir", tmp_path / "missing", "--uninstall")
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "missing").exists()


def test_uninstall_refuses_a_foreign_folder(tmp_path: Path) -> None:
    foreign = tmp_path / "kmeans-quantize"
    foreign.mkdir()
    (foreign / "something-else.py").write_text("pass\n")
    result = run_install("--plugin-dir", tmp_path, "--uninstall")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert tree(foreign) == {"something-else.py": b"pass\n"}
    assert sorted(os.listdir(tmp_path)) == ["kmeans-quantize"]


def test_zip_entries_and_modes(tmp_path: Path) -> None:
    archive_path = tmp_path / "kmeans-quantize.zip"
    result = run_install("--zip", archive_path)
    assert result.returncode == 0, result.stderr
    assert str(archive_path) in result.stdout
    assert sorted(os.listdir(tmp_path)) == ["kmeans-quantize.zip"]  # no temporary file left
    with zipfile.ZipFile(archive_path) as archive:
        assert archive.testzip() is None
        infos = {info.filename: info for info in archive.infolist()}
    assert sorted(infos) == sorted(f"kmeans-quantize/{name}" for name in source_tree())
    assert "kmeans-quantize/kmeans-quantize.py" in infos
    assert "kmeans-quantize/kmeans_quantize/__init__.py" in infos
    assert not [name for name in infos if "__pycache__" in name or name.endswith(".pyc")]
    script = infos["kmeans-quantize/kmeans-quantize.py"]
    assert script.create_system == 3  # Unix, so that unzip applies the mode below
    assert stat.S_IMODE(script.external_attr >> 16) == 0o755
    assert stat.S_ISREG(script.external_attr >> 16)
    package_init = infos["kmeans-quantize/kmeans_quantize/__init__.py"]
    assert stat.S_IMODE(package_init.external_attr >> 16) == 0o644


def test_zip_made_on_windows_keeps_unix_modes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # zipfile marks entries as made on MS-DOS when sys.platform is "win32", and unzip then ignores
    # their Unix mode; build_zip must override that. Run in-process to fake the platform.
    install = load_install_module()
    archive_path = tmp_path / "plugin.zip"
    with monkeypatch.context() as patch:
        patch.setattr(sys, "platform", "win32")
        install.build_zip(archive_path)
    with zipfile.ZipFile(archive_path) as archive:
        script = archive.getinfo("kmeans-quantize/kmeans-quantize.py")
    assert script.create_system == 3
    assert stat.S_IMODE(script.external_attr >> 16) == 0o755


def test_zip_extracts_to_the_same_tree_as_an_install(tmp_path: Path) -> None:
    archive_path = tmp_path / "plugin.zip"
    assert run_install("--zip", archive_path).returncode == 0
    extracted = tmp_path / "extracted"
    with zipfile.ZipFile(archive_path) as archive:
        archive.extractall(extracted)
    plugin_dir = tmp_path / "plug-ins"
    assert run_install("--plugin-dir", plugin_dir).returncode == 0
    assert sorted(os.listdir(extracted)) == ["kmeans-quantize"]
    assert tree(extracted) == tree(plugin_dir)


def test_zip_refuses_to_overwrite(tmp_path: Path) -> None:
    existing = tmp_path / "plugin.zip"
    existing.write_bytes(b"keep me")
    result = run_install("--zip", existing)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "exists" in result.stderr and str(existing) in result.stderr
    assert existing.read_bytes() == b"keep me"
    assert sorted(os.listdir(tmp_path)) == ["plugin.zip"]


@pytest.mark.parametrize(
    "extra", [["--uninstall"], ["--plugin-dir", "PLUGINS"]], ids=["with-uninstall", "with-plugin-dir"]
)
def test_zip_conflicting_options(tmp_path: Path, extra: list[str]) -> None:
    archive_path = tmp_path / "plugin.zip"
    extra = [str(tmp_path / "plug-ins") if arg == "PLUGINS" else arg for arg in extra]
    result = run_install("--zip", archive_path, *extra)
    assert result.returncode == 2
    assert "not allowed with" in result.stderr
    assert not archive_path.exists()
    assert not (tmp_path / "plug-ins").exists()


def test_default_plugin_dir() -> None:
    install = load_install_module()
    home = Path("/home/someone")
    assert install.default_plugin_dir("linux", {}, home) == home / ".config" / "GIMP" / "3.0" / "plug-ins"
    assert install.default_plugin_dir("linux", {"XDG_CONFIG_HOME": "/xdg/config"}, home) == Path(
        "/xdg/config/GIMP/3.0/plug-ins"
    )
    # An empty or relative XDG_CONFIG_HOME is ignored, as the XDG spec says.
    for ignored in ("", "relative/config"):
        assert install.default_plugin_dir("linux", {"XDG_CONFIG_HOME": ignored}, home) == (
            home / ".config" / "GIMP" / "3.0" / "plug-ins"
        )
    appdata = "C:\\Users\\someone\\AppData\\Roaming"
    assert install.default_plugin_dir("win32", {"APPDATA": appdata, "XDG_CONFIG_HOME": "/x"}, home) == (
        Path(appdata) / "GIMP" / "3.0" / "plug-ins"
    )
    assert install.default_plugin_dir("darwin", {"XDG_CONFIG_HOME": "/x"}, home) == (
        home / "Library" / "Application Support" / "GIMP" / "3.0" / "plug-ins"
    )


def test_default_plugin_dir_is_the_newest_gimp_3_settings_folder(tmp_path: Path) -> None:
    """GIMP 3.2 reads GIMP/3.2, not GIMP/3.0: the newest existing 3.x folder wins (by number)."""
    install = load_install_module()
    gimp = tmp_path / ".config" / "GIMP"
    (gimp / "2.10").mkdir(parents=True)
    assert install.default_plugin_dir("linux", {}, tmp_path) == gimp / "3.0" / "plug-ins"
    (gimp / "3.0").mkdir()
    assert install.default_plugin_dir("linux", {}, tmp_path) == gimp / "3.0" / "plug-ins"
    (gimp / "3.2").mkdir()
    assert install.default_plugin_dir("linux", {}, tmp_path) == gimp / "3.2" / "plug-ins"
    (gimp / "3.10").mkdir()
    (gimp / "3.08").mkdir()  # not a name GIMP gives its folders
    (gimp / "3.12").write_text("a file, not a settings folder")
    assert install.default_plugin_dir("linux", {}, tmp_path) == gimp / "3.10" / "plug-ins"
    appdata = tmp_path / "AppData" / "Roaming"
    (appdata / "GIMP" / "3.2").mkdir(parents=True)
    assert install.default_plugin_dir("win32", {"APPDATA": str(appdata)}, tmp_path) == (
        appdata / "GIMP" / "3.2" / "plug-ins"
    )


def test_engine_notes_for_every_platform_suggest_no_numpy_install_that_cannot_work() -> None:
    install = load_install_module()
    for platform in ("linux", "win32", "darwin", "freebsd13"):
        text = " ".join(install.ENGINE_NOTES[install.platform_key(platform)])
        assert "numpy-free engine" in text
        assert "pip" not in text and "ensurepip" not in text  # GIMP's bundled Pythons have no pip
    linux = " ".join(install.ENGINE_NOTES["linux"])
    assert "apt install python3-numpy" in linux and "dnf install python3-numpy" in linux
    assert "flatpak run --command=python3 org.gimp.GIMP gimp_plugin/install.py" in linux
