"""Run code inside a real GIMP 3 with the plug-in installed, on the host or in a Debian 13 root.

GIMP 3 is taken from the host when ``gimp-console-3.0`` is on PATH. Otherwise (this machine runs
Debian 12, whose GIMP is 2.10) a Debian 13 root with GIMP 3 is built once with debootstrap and
cached (``$KMQ_GIMP_ROOT``, default ``~/.cache/kmeans-quantize/gimp3-root-<key>``); GIMP then runs
in it with chroot. See ``shared/GIMP3_NOTES.md``.

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

SUITE = "trixie"
MIRROR = "http://deb.debian.org/debian"
#: What the root holds: GIMP 3 with Python and numpy, plus a virtual screen and the tools to
#: drive it and take screenshots (undo test, README screenshot).
PACKAGES = (
    "gimp python3-gi python3-numpy gir1.2-gimp-3.0 gir1.2-gegl-0.4 gir1.2-babl-0.1 "
    "xvfb xdotool x11-apps netpbm"
).split()
ROOT_KEY = hashlib.sha256(f"{SUITE} {' '.join(PACKAGES)}".encode()).hexdigest()[:10]

#: Runs "$@" with DISPLAY set to a fresh Xvfb screen (a display number unlikely to be taken).
XVFB_WRAPPER = (
    'display=":$((100 + $$ % 400))"; Xvfb "$display" -screen 0 1280x900x24 -nolisten tcp '
    '>/dev/null 2>&1 & xvfb=$!; sleep 1; DISPLAY="$display" "$@"; status=$?; '
    'kill "$xvfb"; exit "$status"'
)
TIMEOUT = 900


def default_root() -> Path:
    configured = os.environ.get("KMQ_GIMP_ROOT")
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "kmeans-quantize" / f"gimp3-root-{ROOT_KEY}"


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
    """A way to start GIMP 3: on the host (``root`` None) or in a chroot."""

    def __init__(self, root: Path | None) -> None:
        self.root = root

    def describe(self) -> str:
        return "host gimp-console-3.0" if self.root is None else f"Debian {SUITE} root {self.root}"

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

    def command(self, space: Workspace, program: Sequence[str], env: dict[str, str]) -> list[str]:
        """The command line that runs ``program`` with a clean environment, for GIMP's profile."""
        environment = {
            "HOME": space.path("home"),
            "GIMP3_DIRECTORY": space.path("gimpdir"),
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            **env,
        }
        inner = ["env", "-i", *(f"{key}={value}" for key, value in environment.items()), *program]
        if self.root is None:
            return inner
        # $0 is the root; mount /proc inside a private mount namespace only.
        script = 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"'
        return ["unshare", "-m", "sh", "-c", script, str(self.root), *inner]

    def batch_command(
        self, space: Workspace, script: str, env: dict[str, str] | None = None, gui: bool = False
    ) -> list[str]:
        """The command that runs the Python file ``script`` (a path inside the workspace) in GIMP's
        python-fu-eval: headless, or with ``gui`` GIMP with its windows on a virtual screen that
        lives as long as GIMP does."""
        code = f"exec(compile(open({script!r}).read(), {script!r}, 'exec'))"
        if gui:
            program = ["sh", "-c", XVFB_WRAPPER, "sh", "gimp-3.0", "-n", "-s", "-d", "-f"]
        else:
            program = ["gimp-console-3.0", "-i", "-n", "-d", "-f"]
        program += ["--batch-interpreter=python-fu-eval", "-b", code, "--quit"]
        return self.command(space, program, env or {})

    def batch(
        self, space: Workspace, script: str, env: dict[str, str] | None = None, gui: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run :meth:`batch_command` and wait for it.

        Exit status 0 when the script ran through; GIMP exits with 64 when the code raises.
        """
        return subprocess.run(
            self.batch_command(space, script, env, gui),
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


def build_root(root: Path, log: Path) -> None:
    """Build the Debian root with GIMP 3 into ``root`` (about two minutes), atomically."""
    partial = root.with_name(root.name + ".partial")
    if partial.exists():
        subprocess.run(["rm", "-rf", "--one-file-system", str(partial)], check=True)
    with log.open("w") as out:

        def step(command: list[str]) -> None:
            out.write(f"+ {' '.join(command)}\n")
            out.flush()
            subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=True, timeout=TIMEOUT)

        step(["debootstrap", "--variant=minbase", SUITE, str(partial), MIRROR])
        shutil.copy("/etc/resolv.conf", partial / "etc" / "resolv.conf")
        install = (
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
            "--no-install-recommends " + " ".join(PACKAGES) + " && apt-get clean"
        )
        script = 'mount -t proc proc "$0/proc" && exec chroot "$0" sh -c "$1"'
        step(["unshare", "-m", "sh", "-c", script, str(partial), install])
    partial.rename(root)


def find_gimp3() -> Gimp3 | str:
    """A way to run GIMP 3, building the cached root if needed; or the reason there is none."""
    if shutil.which("gimp-console-3.0"):
        return Gimp3(None)
    root = default_root()
    if (root / "usr" / "bin" / "gimp-console-3.0").exists():
        return Gimp3(root)
    reason = _can_build()
    if reason is not None:
        return f"no gimp-console-3.0 on PATH and no GIMP 3 root at {root}; {reason}"
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f"{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test run may be building it right now
        if not root.exists():
            log = root.parent / f"{root.name}.build.log"
            try:
                build_root(root, log)
            except (subprocess.SubprocessError, OSError) as error:
                return f"building the GIMP 3 root failed ({error}); see {log}"
    return Gimp3(root)
