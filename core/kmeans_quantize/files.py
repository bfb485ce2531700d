"""Writing files safely: a temporary file in the same folder, then a rename."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write"]


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Create or replace ``path`` through ``write(handle)``, all or nothing.

    ``write`` fills a temporary file beside ``path``, created with mode 0o666
    (which the operating system reduces by the umask, as for any new file) and
    ``O_EXCL`` (no existing file is touched). Only when ``write`` returns is
    the file flushed to disk and renamed over ``path``; an error or an
    interruption leaves ``path`` as it was and no temporary file behind.

    Raises
    ------
    OSError
        If the folder does not exist or is not writable, or ``write`` fails.
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    descriptor = os.open(temporary, flags, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
