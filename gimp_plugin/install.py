"""Install the K-Means Quantize GIMP 3 plug-in into GIMP's plug-ins folder.

Usage (from a checkout of the repository; needs Python 3.10+ and nothing else)::

    python gimp_plugin/install.py                   # install for the current user
    python gimp_plugin/install.py --plugin-dir DIR  # install into another plug-ins folder
    python gimp_plugin/install.py --uninstall       # remove it again (also with --plugin-dir)
    python gimp_plugin/install.py --zip FILE.zip    # build a zip to extract into a plug-ins folder

An install is ``<plug-ins>/kmeans-quantize/kmeans-quantize.py`` plus a copy of the
``kmeans_quantize`` package beside it (``<plug-ins>/kmeans-quantize/kmeans_quantize/``), so
the plug-in does not depend on the package being installed into GIMP's Python. It uses only the
standard library, so that GIMP's own Python can run it where that is the only Python (Windows:
``"C:\\Program Files\\GIMP 3\\bin\\python.exe" gimp_plugin\\install.py``; macOS:
``/Applications/GIMP.app/Contents/MacOS/python3 gimp_plugin/install.py``; Flatpak:
``flatpak run --command=python3 org.gimp.GIMP gimp_plugin/install.py``, which installs into the
sandbox's settings folder). The plug-in needs no numpy: without it, it runs its numpy-free engine.

The default plug-ins folder is the per-user one of the newest GIMP 3.x that has a settings
folder, else GIMP 3.0's: ``~/.config/GIMP/3.x/plug-ins`` (``$XDG_CONFIG_HOME`` respected) on
Linux, ``%APPDATA%\\GIMP\\3.x\\plug-ins`` on Windows and
``~/Library/Application Support/GIMP/3.x/plug-ins`` on macOS. Each GIMP 3.x reads only its own
folder (GIMP 3.2: ``GIMP/3.2``) and copies the newest older one on its first start. GIMP lists
the folders it searches under Edit > Preferences > Folders > Plug-ins.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

#: Name of the plug-in folder; GIMP 3 requires the script inside it to have the same name + ".py".
PLUGIN_NAME = "kmeans-quantize"
SCRIPT_NAME = f"{PLUGIN_NAME}.py"
PACKAGE_NAME = "kmeans_quantize"

# Sources are found relative to this file, not the working directory, so the script can be
# run from anywhere inside (or outside) the checkout.
HERE = Path(__file__).resolve().parent
PLUGIN_SOURCE = HERE / PLUGIN_NAME
PACKAGE_SOURCE = HERE.parent / "core" / PACKAGE_NAME

# Build leftovers and hidden files (editor swap files, .DS_Store) are not part of the plug-in.
IGNORED_DIRS = frozenset({"__pycache__"})
IGNORED_SUFFIXES = (".pyc", ".pyo")

# Modes set explicitly rather than copied, so that an install (or the zip) does not depend on
# how the checkout happens to be stored; the script must be executable for GIMP on Linux/macOS.
SCRIPT_MODE = 0o755
FILE_MODE = 0o644

MENU_PATH = "Filters > Colors > K-Means Quantize..."

#: What to know about numpy, by platform key (see :func:`platform_key`): the plug-in runs in
#: GIMP's own Python, with numpy where that has it, else with its numpy-free engine. GIMP's
#: Windows, macOS and Flatpak builds ship no numpy and cannot install it, so nothing is
#: suggested there.
ENGINE_NOTES: dict[str, list[str]] = {
    "linux": [
        "The plug-in runs in GIMP's Python. GIMP from your distribution uses the system Python: with",
        "its numpy package (sudo apt install python3-numpy, or sudo dnf install python3-numpy) the",
        "filter is faster and keeps 16-bit and float precision; without it, the plug-in uses its",
        "numpy-free engine (8 bits per channel). A Flatpak GIMP has no numpy and its own folder:",
        "  flatpak run --command=python3 org.gimp.GIMP gimp_plugin/install.py",
    ],
    "win32": [
        "The plug-in runs in GIMP's own Python, which has no numpy; it uses its numpy-free engine",
        "(8 bits per channel). Nothing else to install.",
    ],
    "darwin": [
        "The plug-in runs in GIMP's own Python, which has no numpy; it uses its numpy-free engine",
        "(8 bits per channel). Nothing else to install.",
    ],
}

#: Printed on every platform after the platform's own hints.
GENERAL_HINT = (
    "If the menu entry does not appear, check that this plug-ins folder is listed under "
    "Edit > Preferences > Folders > Plug-ins."
)


class InstallError(Exception):
    """A problem the user can fix; :func:`main` prints it as one line and exits with status 1."""


def platform_key(platform: str) -> str:
    """Map a ``sys.platform`` value to a key of :data:`ENGINE_NOTES`.

    Parameters
    ----------
    platform : str
        A ``sys.platform`` value such as ``"linux"``, ``"win32"`` or ``"darwin"``.

    Returns
    -------
    str
        ``"win32"``, ``"darwin"`` or ``"linux"`` (every other platform, e.g. the BSDs, follows
        the XDG layout that GIMP uses on Linux).
    """
    if platform.startswith("win"):
        return "win32"
    if platform == "darwin":
        return "darwin"
    return "linux"


def default_plugin_dir(platform: str, environ: Mapping[str, str], home: Path) -> Path:
    """The per-user plug-ins folder of the newest GIMP 3.x with a settings folder, else GIMP 3.0's.

    Each GIMP 3.x keeps its settings, plug-ins included, in its own ``GIMP/3.x`` folder (GIMP 3.2
    in ``GIMP/3.2``) and reads no other per-user one; on its first start it copies the newest
    older one. So the newest existing ``GIMP/3.x`` is the folder of the GIMP in use, and
    ``GIMP/3.0`` (when there is none yet) is read by GIMP 3.0 and copied by any later 3.x.

    Parameters
    ----------
    platform : str
        A ``sys.platform`` value.
    environ : Mapping[str, str]
        Environment variables (``APPDATA`` on Windows, ``XDG_CONFIG_HOME`` elsewhere).
    home : Path
        The user's home folder.

    Returns
    -------
    Path
        The folder; it may not exist yet.
    """
    key = platform_key(platform)
    if key == "win32":
        appdata = environ.get("APPDATA")
        # APPDATA is always set in a normal Windows session; the fallback is its usual value.
        base = Path(appdata) if appdata else home / "AppData" / "Roaming"
    elif key == "darwin":
        base = home / "Library" / "Application Support"
    else:
        # The XDG spec says to ignore a relative XDG_CONFIG_HOME, and GLib (hence GIMP) does so.
        xdg = environ.get("XDG_CONFIG_HOME", "")
        base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".config"
    gimp = base / "GIMP"
    found = {
        int(m[1]): path for path in _subfolders(gimp) if (m := re.fullmatch(r"3\.(0|[1-9]\d*)", path.name))
    }
    return (found[max(found)] if found else gimp / "3.0") / "plug-ins"


def _subfolders(folder: Path) -> list[Path]:
    try:
        return [path for path in folder.iterdir() if path.is_dir()]
    except OSError:  # missing or unreadable: no GIMP settings folder yet
        return []


def _walk(
    root: Path, prefix: PurePosixPath, skip_top: frozenset[str] = frozenset()
) -> list[tuple[Path, PurePosixPath]]:
    """Files under ``root`` as (source, destination relative to the plug-in folder), sorted."""
    found: list[tuple[Path, PurePosixPath]] = []
    for directory, dirnames, filenames in os.walk(root):
        relative = Path(directory).relative_to(root)
        at_top = relative == Path(".")
        # Pruning dirnames in place stops os.walk from descending into them.
        dirnames[:] = sorted(
            name
            for name in dirnames
            if name not in IGNORED_DIRS and not name.startswith(".") and not (at_top and name in skip_top)
        )
        for name in sorted(filenames):
            if name.endswith(IGNORED_SUFFIXES) or name.startswith(".") or (at_top and name in skip_top):
                continue
            found.append((Path(directory) / name, prefix.joinpath(*relative.parts, name)))
    return found


def plugin_files() -> list[tuple[Path, PurePosixPath]]:
    """Everything an install contains: the plug-in folder's files and the package's.

    Returns
    -------
    list of (Path, PurePosixPath)
        Source file and its path relative to the installed ``kmeans-quantize`` folder.

    Raises
    ------
    InstallError
        If the plug-in script or the package is missing beside this file.
    """
    for required in (PLUGIN_SOURCE / SCRIPT_NAME, PACKAGE_SOURCE / "__init__.py"):
        if not required.is_file():
            raise InstallError(
                f"{required} not found; run install.py from a complete copy of the kmeans-quantize repository"
            )
    # A developer may have linked the package into the plug-in folder to try it from the
    # checkout; the copy from core/ is the one that counts, so such a link is not copied twice.
    return _walk(PLUGIN_SOURCE, PurePosixPath(), frozenset({PACKAGE_NAME})) + _walk(
        PACKAGE_SOURCE, PurePosixPath(PACKAGE_NAME)
    )


def _mode(relative: PurePosixPath) -> int:
    return SCRIPT_MODE if relative == PurePosixPath(SCRIPT_NAME) else FILE_MODE


def _is_ours(folder: Path) -> bool:
    return (folder / SCRIPT_NAME).is_file()


def _check_plugin_dir(plugin_dir: Path) -> None:
    if plugin_dir.exists() and not plugin_dir.is_dir():
        raise InstallError(f"{plugin_dir} exists and is not a folder; give a folder with --plugin-dir")


def install(plugin_dir: Path) -> Path:
    """Install (or reinstall) the plug-in into a plug-ins folder.

    The new copy is built in a hidden temporary folder inside ``plugin_dir`` (the same file
    system, so renames are cheap and atomic) and only then swapped for an existing install, so
    a failure part-way leaves the old install, not a mixture.

    Parameters
    ----------
    plugin_dir : Path
        GIMP plug-ins folder; created (with its parents) if missing.

    Returns
    -------
    Path
        The installed plug-in script.

    Raises
    ------
    InstallError
        If the sources are missing, ``plugin_dir`` is not a folder, or a ``kmeans-quantize``
        folder that is not this plug-in is in the way.
    OSError
        If the file system refuses (e.g. permission denied).
    """
    files = plugin_files()
    _check_plugin_dir(plugin_dir)
    plugin_dir.mkdir(parents=True, exist_ok=True)
    target = plugin_dir / PLUGIN_NAME
    if os.path.lexists(target):
        if not target.is_dir():
            raise InstallError(f"{target} exists and is not a folder; remove it first")
        # Never replace someone else's folder; an empty one loses nothing.
        if not _is_ours(target) and any(target.iterdir()):
            raise InstallError(
                f"{target} exists but does not contain {SCRIPT_NAME}, so it is not this plug-in; "
                "not replacing it (remove it or choose another --plugin-dir)"
            )

    # mkdtemp makes a private (0o700) folder; the plug-in folder is made inside it with normal
    # permissions, so a system-wide install stays readable by everyone once renamed out.
    staging = Path(tempfile.mkdtemp(prefix=f".{PLUGIN_NAME}-new-", dir=plugin_dir))
    try:
        new = staging / PLUGIN_NAME
        new.mkdir()
        for source, relative in files:
            destination = new.joinpath(*relative.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
            os.chmod(destination, _mode(relative))
        _swap_in(new, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target / SCRIPT_NAME


def _swap_in(new: Path, target: Path) -> None:
    """Rename ``new`` to ``target``, replacing (and then deleting) an existing ``target``."""
    if not os.path.lexists(target):
        os.rename(new, target)
        return
    # Windows cannot rename a folder over another one, so the old install is first moved into a
    # hidden holder folder; if the second rename fails it is moved back.
    holder = Path(tempfile.mkdtemp(prefix=f".{PLUGIN_NAME}-old-", dir=target.parent))
    old = holder / PLUGIN_NAME
    try:
        os.rename(target, old)
    except OSError:
        holder.rmdir()
        raise
    try:
        os.rename(new, target)
    except OSError:
        os.rename(old, target)
        holder.rmdir()
        raise
    # The new install is in place; failing to delete the old copy is only worth a warning.
    shutil.rmtree(holder, ignore_errors=True)
    if os.path.lexists(holder):
        print(
            f"warning: could not delete the old install moved to {holder}; delete it by hand", file=sys.stderr
        )


def uninstall(plugin_dir: Path) -> bool:
    """Remove the plug-in from a plug-ins folder.

    Only ``<plugin_dir>/kmeans-quantize`` is removed, and only if it holds the plug-in script.

    Parameters
    ----------
    plugin_dir : Path
        GIMP plug-ins folder.

    Returns
    -------
    bool
        True if the plug-in was removed, False if it was not installed there.

    Raises
    ------
    InstallError
        If ``plugin_dir`` is not a folder, or ``kmeans-quantize`` there is not this plug-in.
    OSError
        If the file system refuses (e.g. permission denied).
    """
    _check_plugin_dir(plugin_dir)
    target = plugin_dir / PLUGIN_NAME
    if not os.path.lexists(target):
        return False
    if not _is_ours(target):
        raise InstallError(
            f"{target} does not contain {SCRIPT_NAME}, so it is not this plug-in; refusing to remove it"
        )
    # Renamed away first so that GIMP never sees a half-deleted plug-in if the deletion fails.
    holder = Path(tempfile.mkdtemp(prefix=f".{PLUGIN_NAME}-old-", dir=plugin_dir))
    try:
        os.rename(target, holder / PLUGIN_NAME)
    except OSError:
        holder.rmdir()
        raise
    shutil.rmtree(holder)
    return True


def build_zip(path: Path) -> None:
    """Write a zip holding ``kmeans-quantize/`` ready to extract into a plug-ins folder.

    The zip is written to a temporary file beside ``path`` and renamed into place, so an
    interrupted run never leaves a truncated zip under the requested name.

    Parameters
    ----------
    path : Path
        The zip to write; it must not exist yet.

    Raises
    ------
    InstallError
        If ``path`` exists, its folder does not, or the sources are missing.
    OSError
        If the file system refuses (e.g. permission denied).
    """
    files = plugin_files()
    if os.path.lexists(path):
        raise InstallError(f"{path} exists; delete it or choose another name")
    if not path.parent.is_dir():
        raise InstallError(f"folder {path.parent} does not exist")
    # Opened with "x" (never clobbers anything) rather than by tempfile, which would make the
    # file private (0o600); the zip is meant to be shared, so it gets the usual umask-based mode.
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    stream = open(temporary, "xb")
    try:
        with stream, zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
            for source, relative in files:
                info = zipfile.ZipInfo.from_file(
                    source, f"{PLUGIN_NAME}/{relative.as_posix()}", strict_timestamps=False
                )
                # Unix permissions live in the high 16 bits of external_attr and are only
                # honoured by unzip when the entry says it was made on Unix (3); ZipInfo
                # defaults to 0 (MS-DOS) when the zip is built on Windows.
                info.create_system = 3
                info.external_attr = (0o100000 | _mode(relative)) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, source.read_bytes())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _describe(error: OSError) -> str:
    """One line for an OSError: its reason and the file(s) involved."""
    if error.strerror and error.filename is not None:
        names = f"{error.filename}" + (f" -> {error.filename2}" if error.filename2 is not None else "")
        return f"{error.strerror}: {names}"
    return str(error) or type(error).__name__


def _parser(default_dir: Path) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="install.py",
        description="Install the K-Means Quantize plug-in into GIMP 3's plug-ins folder "
        "(or remove it, or build a zip of it).",
    )
    parser.add_argument(
        "--plugin-dir",
        type=Path,
        metavar="DIR",
        # No argparse default: main() must tell whether it was given (it is not allowed with --zip).
        help=f"GIMP plug-ins folder (default for this system: {default_dir})".replace("%", "%%"),
    )
    actions = parser.add_mutually_exclusive_group()
    actions.add_argument("--uninstall", action="store_true", help="remove the plug-in from DIR")
    actions.add_argument(
        "--zip",
        type=Path,
        metavar="FILE",
        help="instead of installing, write a zip to extract into a plug-ins folder (FILE must not exist)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; ``sys.argv[1:]`` if None.

    Returns
    -------
    int
        Exit status: 0 on success, 1 on an error (usage errors exit with 2 via argparse).
    """
    default_dir = default_plugin_dir(sys.platform, os.environ, Path.home())
    parser = _parser(default_dir)
    args = parser.parse_args(argv)
    if args.zip is not None and args.plugin_dir is not None:
        parser.error("argument --plugin-dir: not allowed with argument --zip")
    plugin_dir: Path = (default_dir if args.plugin_dir is None else args.plugin_dir).expanduser().absolute()
    try:
        if args.zip is not None:
            zip_path: Path = args.zip.expanduser().absolute()
            build_zip(zip_path)
            print(f"Wrote {zip_path}")
            print(
                "Extract it into GIMP's plug-ins folder (Edit > Preferences > Folders > Plug-ins lists it), "
                f"so that it holds {PLUGIN_NAME}/{SCRIPT_NAME}; then restart GIMP and use {MENU_PATH}"
            )
            print("It runs with or without numpy in GIMP's Python (see the README).")
        elif args.uninstall:
            if uninstall(plugin_dir):
                print(f"Removed {plugin_dir / PLUGIN_NAME}; restart GIMP to drop the menu entry.")
            else:
                print(f"K-Means Quantize is not installed in {plugin_dir}; nothing to do.")
        else:
            script = install(plugin_dir)
            print(f"Installed K-Means Quantize: {script}")
            print(f"Restart GIMP, then use {MENU_PATH}")
            for line in ENGINE_NOTES[platform_key(sys.platform)]:
                print(f"  {line}")
            print(GENERAL_HINT)
    except InstallError as error:
        print(f"install.py: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"install.py: error: {_describe(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("install.py: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
