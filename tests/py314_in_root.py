"""Run the core test suite on Python 3.14: ``python3.14`` of the Debian unstable root.

Usage (``tox -e py314`` runs it; by hand it needs root, like the GIMP suite)::

    python tests/py314_in_root.py [PYTEST ARGS...]

The root is the one ``tests/gimp/gimp_harness.py`` builds and caches for GIMP 3.2 (it holds
``python3.14`` and ``python3.14-venv``). This script copies the checkout and the wheel under test
(``$TOX_PACKAGE``, the wheel tox built; by hand, one built here with ``pip wheel``) into the
root's ``/tmp``, and inside the root (chroot in a private mount namespace, as the harness runs
GIMP) creates a virtual environment with ``python3.14``, installs the wheel with its ``test``
extra from the package index (numpy, Pillow, ... as wheels for Python 3.14), and runs
``pytest --ignore=tests/gimp`` in the copy, so the tests import the installed wheel, not
``core/``. pytest's output is shown as it runs and its exit status is this script's. The copy
and the environment are removed afterwards; pip's cache stays in the root (``/var/cache/kmq-pip``).

pip in the root reaches the network as the host does: the root has the host's resolv.conf, and
each run copies in the host's CA bundle (``$PIP_CERT``, ``$SSL_CERT_FILE``,
``$REQUESTS_CA_BUNDLE`` or the system's; a network that intercepts TLS has its certificate
there) and passes on the proxy variables.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "gimp"))
from gimp_harness import RELEASES, chroot_command, find_root  # noqa: E402

PYTHON = "python3.14"
#: Printed before the tests: what is tested, on what.
REPORT = (
    "import sys, numpy, PIL, kmeans_quantize as m; "
    'print("testing", m.__version__, "from", m.__file__, "on Python", sys.version.split()[0], '
    '"with numpy", numpy.__version__, "and Pillow", PIL.__version__)'
)
#: The host's CA bundle: the first of these variables that names a file, else the system's.
CA_VARIABLES = ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")
RELEASE = RELEASES["3.2"]
#: Not copied into the root: version control, environments, caches, build output.
SKIPPED = {
    ".git",
    ".tox",
    ".venv",
    ".venv-tox",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    ".mypy_cache",
    ".ruff_cache",
    "build",
    "dist",
}


def checkout_files() -> list[str]:
    """The checkout's files (tracked and untracked, not ignored), relative to the repository."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: everything but SKIPPED
        return [
            str(path.relative_to(REPO))
            for path in REPO.rglob("*")
            if path.is_file() and not SKIPPED & set(path.relative_to(REPO).parts)
        ]
    return [name for name in listed.split("\0") if name and (REPO / name).is_file()]


def copy_checkout(target: Path) -> None:
    for name in checkout_files():
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, destination)


def wheels(target: Path) -> list[Path]:
    """The wheel under test, copied into ``target``: tox's (``$TOX_PACKAGE``) or one built now."""
    packages = [Path(name) for name in os.environ.get("TOX_PACKAGE", "").split(os.pathsep) if name]
    if not packages:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--no-deps",
                "--wheel-dir",
                str(target),
                str(REPO),
            ],
            check=True,
        )
        return sorted(target.glob("*.whl"))
    for package in packages:
        if package.suffix != ".whl":
            raise SystemExit(f"py314_in_root: expected a wheel in TOX_PACKAGE, got {package}")
        shutil.copy2(package, target / package.name)
    return [target / package.name for package in packages]


def ca_bundle() -> Path | None:
    for variable in CA_VARIABLES:
        value = os.environ.get(variable)
        if value and Path(value).is_file():
            return Path(value)
    return SYSTEM_CA_BUNDLE if SYSTEM_CA_BUNDLE.is_file() else None


def main(pytest_args: list[str]) -> int:
    root = find_root(RELEASE)
    if isinstance(root, str):
        print(f"py314_in_root: no Python 3.14: {root}", file=sys.stderr)
        return 1
    if not (root / "usr" / "bin" / PYTHON).exists():
        print(f"py314_in_root: the root {root} has no /usr/bin/{PYTHON}", file=sys.stderr)
        return 1
    host = Path(tempfile.mkdtemp(prefix="kmq-py314-", dir=root / "tmp"))
    try:
        inside = "/" + str(host.relative_to(root))
        (host / "wheels").mkdir()
        (host / "home").mkdir()
        installed = [f"{inside}/wheels/{wheel.name}[test]" for wheel in wheels(host / "wheels")]
        copy_checkout(host / "src")
        venv = f"{inside}/venv"
        script = " && ".join(
            [
                f"cd {inside}/src",
                f"{PYTHON} -m venv {venv}",
                f"{venv}/bin/python -m pip install --quiet --cache-dir /var/cache/kmq-pip "
                + " ".join(shlex.quote(name) for name in installed),
                f"{venv}/bin/python -c {shlex.quote(REPORT)}",
                f'exec {venv}/bin/python -m pytest --ignore=tests/gimp "$@"',
            ]
        )
        environment = {
            "HOME": f"{inside}/home",
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            **{
                key: value
                for key, value in os.environ.items()
                if key.startswith("KMQ_") or key in PROXY_VARIABLES
            },
        }
        bundle = ca_bundle()
        if bundle is not None:
            shutil.copy(bundle, host / "ca-certificates.crt")
            environment["PIP_CERT"] = f"{inside}/ca-certificates.crt"
        program = ["env", "-i", *(f"{key}={value}" for key, value in environment.items())]
        program += ["sh", "-c", script, "sh", *pytest_args]
        print(f"py314_in_root: {PYTHON} in the Debian {RELEASE.suite} root {root}", flush=True)
        return subprocess.run(chroot_command(root, program), stdin=subprocess.DEVNULL).returncode
    finally:
        shutil.rmtree(host, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
