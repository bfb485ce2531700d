"""tox's inline plug-in (tox loads ``toxfile.py`` beside tox.ini by itself): the ``root-python`` runner.

The ``py314`` environment tests on Python 3.14, which this machine has only inside the Debian
unstable root that ``tests/gimp/gimp_harness.py`` builds for GIMP 3.2. tox itself runs that
environment on the host's Python (it builds the wheel and runs ``tests/py314_in_root.py``, which
runs pytest with the root's ``python3.14``). Two things differ from an ordinary environment:

- its name, ``py314``, names the Python the tests run on, not the host Python tox creates the
  environment with, so tox's check that the name and ``base_python`` agree is turned off;
- the root counts as the interpreter: when it neither exists nor can be built here (not root, no
  debootstrap), the environment is skipped like a missing interpreter, or fails when missing
  interpreters are not skipped (``.ci/run`` sets ``TOX_SKIP_MISSING_INTERPRETERS=false``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from tox.plugin import impl
from tox.tox_env.errors import Fail, Skip
from tox.tox_env.python.virtual_env.runner import VirtualEnvRunner
from tox.tox_env.register import ToxEnvRegister

HARNESS = Path(__file__).resolve().parent / "tests" / "gimp"


class RootPythonRunner(VirtualEnvRunner):
    """A virtualenv environment on the host's Python that drives a Python inside a Debian root."""

    @staticmethod
    def id() -> str:
        return "root-python"

    @classmethod
    def _validate_base_python(
        cls, env_name: str, base_pythons: list[str], ignore_base_python_conflict: bool
    ) -> list[str]:
        return base_pythons  # "py314" in the name is the root's Python, not base_python

    def _platform_check(self) -> None:
        super()._platform_check()
        sys.path.insert(0, str(HARNESS))
        try:
            from gimp_harness import RELEASES, root_unavailable
        finally:
            sys.path.remove(str(HARNESS))
        reason = root_unavailable(RELEASES["3.2"])
        if reason is not None:
            if self.conf["skip_missing_interpreters"]:
                raise Skip(f"no Python 3.14: {reason}")
            raise Fail(f"no Python 3.14: {reason}")


@impl
def tox_register_tox_env(register: ToxEnvRegister) -> None:
    register.add_run_env(RootPythonRunner)
