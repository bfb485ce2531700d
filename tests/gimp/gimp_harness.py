"""Run code inside a real GIMP 3 with the plug-in installed, on the host or in a Debian root.

Two GIMP releases are supported, chosen by ``$KMQ_GIMP_VERSION`` (default ``3.0``; the tox
environments ``gimp`` and ``gimp32`` set it): GIMP 3.0 from Debian 13 ("trixie") and GIMP 3.2
from Debian unstable ("sid"). GIMP is taken from the host when ``gimp-console-3.X`` is on PATH.
Otherwise (this machine runs Debian 12, whose GIMP is 2.10) a Debian root with that GIMP is built
once with debootstrap and cached (``$KMQ_GIMP_ROOT`` for 3.0, ``$KMQ_GIMP32_ROOT`` for 3.2;
default ``~/.cache/kmeans-quantize/<prefix>-<key>``, the key a hash of the suite, the package
list and the apt options); GIMP then runs in it with chroot. The unstable root also holds
``python3.14`` (with ``venv``), used by ``tests/py314_in_root.py``. See ``shared/GIMP3_NOTES.md``.

Safety: the root gets no bind mount of any host folder (``/dev`` above all: a package's
maintainer script could delete the host's device nodes); ``/proc`` is mounted only inside
``unshare -m``, so the mount disappears with the process.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INSTALLER = REPO / "gimp_plugin" / "install.py"

#: What a root holds: GIMP 3 with Python and numpy, plus a virtual screen and the tools to
#: drive it and take screenshots (undo test, README screenshot).
PACKAGES = (
    "gimp python3-gi python3-numpy gir1.2-gimp-3.0 gir1.2-gegl-0.4 gir1.2-babl-0.1 "
    "xvfb xdotool x11-apps netpbm"
).split()


@dataclass(frozen=True)
class Release:
    """A GIMP 3 minor release the suite runs against, and the Debian suite that packages it."""

    version: str
    suite: str
    packages: tuple[str, ...]
    #: options for apt-get update and install inside the root
    apt_options: tuple[str, ...]
    #: the cached root's folder name starts with this
    cache_prefix: str
    #: the environment variable that names the root folder instead of the cache
    root_variable: str

    @property
    def console(self) -> str:
        """The headless binary, by its versioned name (GIMP 3.2 has no ``gimp-console-3.0``)."""
        return f"gimp-console-{self.version}"

    @property
    def gui(self) -> str:
        return f"gimp-{self.version}"

    @property
    def key(self) -> str:
        """What the root is built from, hashed (``trixie`` keeps the key it had before 3.2 came)."""
        recipe = " ".join([self.suite, *self.packages, *self.apt_options])
        return hashlib.sha256(recipe.encode()).hexdigest()[:10]

    def default_root(self) -> Path:
        configured = os.environ.get(self.root_variable)
        if configured:
            return Path(configured)
        return Path.home() / ".cache" / "kmeans-quantize" / f"{self.cache_prefix}-{self.key}"


RELEASES = {
    "3.0": Release("3.0", "trixie", tuple(PACKAGES), (), "gimp3-root", "KMQ_GIMP_ROOT"),
    # unstable: the mirror's Release file for it is past its Valid-Until date; python3.14-venv
    # for the core suite on Python 3.14 (tests/py314_in_root.py)
    "3.2": Release(
        "3.2",
        "sid",
        (*PACKAGES, "python3.14-venv"),
        ("-o", "Acquire::Check-Valid-Until=false"),
        "gimp32-root",
        "KMQ_GIMP32_ROOT",
    ),
}
DEFAULT_VERSION = "3.0"


def selected_release() -> Release:
    """The release named by ``$KMQ_GIMP_VERSION`` (default 3.0); an unknown name is an error."""
    version = os.environ.get("KMQ_GIMP_VERSION") or DEFAULT_VERSION
    if version not in RELEASES:
        raise ValueError(f"KMQ_GIMP_VERSION={version!r}: expected one of {', '.join(RELEASES)}")
    return RELEASES[version]


#: The plug-in's engines, and what GIMP's environment holds for each: numpy as installed, or numpy
#: hidden from every Python that GIMP starts (as on Windows, macOS and Flatpak builds), so that the
#: plug-in must fall back to its numpy-free engine. ``{workspace}`` stands for the workspace's path
#: inside GIMP's view; the folder ``no-numpy`` there holds :data:`NO_NUMPY` as ``numpy/__init__.py``.
ENGINES = {"numpy": {}, "numpy-free": {"PYTHONPATH": "{workspace}/no-numpy"}}

#: Stands in for a Python without numpy: importing it fails as a missing package does.
NO_NUMPY = 'raise ModuleNotFoundError("No module named \'numpy\'", name="numpy")\n'

#: Runs "$@" with DISPLAY set to a fresh Xvfb screen (a display number unlikely to be taken).
XVFB_WRAPPER = (
    'display=":$((100 + $$ % 400))"; Xvfb "$display" -screen 0 1280x900x24 -nolisten tcp '
    '>/dev/null 2>&1 & xvfb=$!; sleep 1; DISPLAY="$display" "$@"; status=$?; '
    'kill "$xvfb"; exit "$status"'
)
TIMEOUT = 900


def chroot_command(root: Path, program: Sequence[str]) -> list[str]:
    """``program`` run in ``root`` with chroot, with /proc mounted in a private mount namespace only."""
    script = 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"'
    return ["unshare", "-m", "sh", "-c", script, str(root), *program]


@dataclass(frozen=True)
class Workspace:
    """A scratch folder GIMP can see: ``host`` is its path here, ``inside`` its path for GIMP."""

    host: Path
    inside: str

    def path(self, *parts: str) -> str:
        """A path inside the workspace, as GIMP sees it."""
        return "/".join([self.inside, *parts])

    @property
    def plugin_dir(self) -> Path:
        return self.host / "gimpdir" / "plug-ins"


class Gimp3:
    """A way to start a GIMP 3 release: on the host (``root`` None) or in a chroot."""

    def __init__(self, root: Path | None, release: Release | None = None) -> None:
        self.root = root
        self.release = release or RELEASES[DEFAULT_VERSION]

    def describe(self) -> str:
        if self.root is None:
            return f"host {self.release.console}"
        return f"{self.release.console} in the Debian {self.release.suite} root {self.root}"

    @contextlib.contextmanager
    def workspace(self) -> Iterator[Workspace]:
        """A fresh folder with the plug-in installed (by install.py) in its GIMP profile."""
        parent = Path(tempfile.gettempdir()) if self.root is None else self.root / "tmp"
        host = Path(tempfile.mkdtemp(prefix="kmq-", dir=parent))
        try:
            inside = str(host) if self.root is None else "/" + str(host.relative_to(self.root))
            space = Workspace(host, inside)
            subprocess.run(
                [sys.executable, str(INSTALLER), "--plugin-dir", str(space.plugin_dir)],
                check=True,
                capture_output=True,
                text=True,
            )
            yield space
        finally:
            shutil.rmtree(host, ignore_errors=True)

    def command(
        self, space: Workspace, program: Sequence[str], env: dict[str, str], user_profile: bool = False
    ) -> list[str]:
        """The command line that runs ``program`` with a clean environment: HOME is the workspace's
        ``home`` and GIMP's profile its ``gimpdir`` (with the plug-in), or with ``user_profile``
        GIMP's default per-user folder under that HOME (``~/.config/GIMP/3.x``)."""
        environment = {
            "HOME": space.path("home"),
            **({} if user_profile else {"GIMP3_DIRECTORY": space.path("gimpdir")}),
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            **env,
        }
        inner = ["env", "-i", *(f"{key}={value}" for key, value in environment.items()), *program]
        return inner if self.root is None else chroot_command(self.root, inner)

    def batch_command(
        self,
        space: Workspace,
        script: str,
        env: dict[str, str] | None = None,
        gui: bool = False,
        user_profile: bool = False,
    ) -> list[str]:
        """The command that runs the Python file ``script`` (a path inside the workspace) in GIMP's
        python-fu-eval: headless, or with ``gui`` GIMP with its windows on a virtual screen that
        lives as long as GIMP does."""
        code = f"exec(compile(open({script!r}).read(), {script!r}, 'exec'))"
        if gui:
            program = ["sh", "-c", XVFB_WRAPPER, "sh", self.release.gui, "-n", "-s", "-d", "-f"]
        else:
            program = [self.release.console, "-i", "-n", "-d", "-f"]
        program += ["--batch-interpreter=python-fu-eval", "-b", code, "--quit"]
        return self.command(space, program, env or {}, user_profile)

    def batch(
        self,
        space: Workspace,
        script: str,
        env: dict[str, str] | None = None,
        gui: bool = False,
        user_profile: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """Run :meth:`batch_command` and wait for it.

        Exit status 0 when the script ran through; GIMP exits with 64 when the code raises.
        """
        return subprocess.run(
            self.batch_command(space, script, env, gui, user_profile),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            stdin=subprocess.DEVNULL,
        )


def _can_build() -> str | None:
    """Why a root cannot be built here, or None if it can."""
    if os.geteuid() != 0:
        return "building a Debian root for GIMP 3 needs root (chroot, debootstrap)"
    for tool in ("debootstrap", "unshare", "chroot"):
        if shutil.which(tool) is None:
            return f"{tool} not found (apt-get install debootstrap util-linux)"
    return None


def build_root(release: Release, root: Path, log: Path) -> None:
    """Build the Debian root for ``release`` into ``root`` (a few minutes), atomically."""
    partial = root.with_name(root.name + ".partial")
    if partial.exists():
        subprocess.run(["rm", "-rf", "--one-file-system", str(partial)], check=True)
    with log.open("w") as out:

        def step(command: list[str]) -> None:
            out.write(f"+ {' '.join(command)}\n")
            out.flush()
            subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=True, timeout=TIMEOUT)

        # debootstrap's default mirror
        step(["debootstrap", "--variant=minbase", release.suite, str(partial)])
        shutil.copy("/etc/resolv.conf", partial / "etc" / "resolv.conf")
        apt = " ".join(["apt-get", *release.apt_options])
        install = (
            f"{apt} update -qq && DEBIAN_FRONTEND=noninteractive {apt} install -y -qq "
            "--no-install-recommends " + " ".join(release.packages) + " && apt-get clean"
        )
        step(chroot_command(partial, ["sh", "-c", install]))
    partial.rename(root)


def root_unavailable(release: Release) -> str | None:
    """Why the root for ``release`` neither exists nor can be built here; None if it can be had."""
    root = release.default_root()
    if root.exists():
        return None
    reason = _can_build()
    return None if reason is None else f"no Debian {release.suite} root at {root}; {reason}"


def find_root(release: Release) -> Path | str:
    """The Debian root for ``release``, built and cached if needed; or the reason there is none.

    Concurrent callers wait on a lock while one of them builds it.
    """
    root = release.default_root()
    if root.exists():
        return root
    reason = root_unavailable(release)
    if reason is not None:
        return reason
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f"{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test run may be building it right now
        if not root.exists():
            log = root.parent / f"{root.name}.build.log"
            try:
                build_root(release, root, log)
            except (subprocess.SubprocessError, OSError) as error:
                return f"building the Debian {release.suite} root failed ({error}); see {log}"
    return root


def find_gimp3(release: Release | None = None) -> Gimp3 | str:
    """A way to run GIMP ``release`` (default: :func:`selected_release`), building the cached
    root if needed; or the reason there is none."""
    release = release or selected_release()
    if shutil.which(release.console):
        return Gimp3(None, release)
    root = find_root(release)
    if isinstance(root, str):
        return f"no {release.console} on PATH; {root}"
    if not (root / "usr" / "bin" / release.console).exists():
        return f"the root {root} has no /usr/bin/{release.console}"
    return Gimp3(root, release)
