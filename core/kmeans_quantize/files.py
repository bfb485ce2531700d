"""Writing files safely: a temporary file in the same folder, then a rename."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write", "remove_temporaries", "TEMPORARY_MARK"]

#: Part of every temporary file's name (``.NAME.kmeans-quantize-<hex>.tmp``), so that the one a
#: SIGKILL leaves behind says what made it; a hidden name ending in ``.tmp`` is matched by no
#: image glob such as ``*.png``.
TEMPORARY_MARK = "kmeans-quantize"

#: Temporary files this process has created and not yet renamed or removed. A signal handler
#: empties it with :func:`remove_temporaries` before the process exits.
_pending: set[Path] = set()


def remove_temporaries() -> None:
    """Delete every temporary file of an :func:`atomic_write` still under way in this process.

    For a signal handler that ends the process without unwinding (``os._exit``): each
    destination keeps its previous contents.
    """
    for temporary in list(_pending):
        temporary.unlink(missing_ok=True)
        _pending.discard(temporary)


#: Longest file name most file systems take, in bytes, less the temporary name's additions.
_NAME_ROOM = 255 - len(f"..{TEMPORARY_MARK}-{'0' * 12}.tmp")


def _shortened(name: str) -> str:
    """``name`` cut so that its temporary file's name is not too long where ``name`` is not."""
    while len(os.fsencode(name)) > _NAME_ROOM:
        name = name[:-1]
    return name


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Create or replace ``path`` through ``write(handle)``, all or nothing.

    ``write`` fills a temporary file beside ``path``, created with mode 0o666
    (which the operating system reduces by the umask, as for any new file) and
    ``O_EXCL`` (no existing file is touched). Only when ``write`` returns is
    the file flushed to disk and renamed over ``path``; an error or an
    interruption leaves ``path`` as it was and no temporary file behind
    (after SIGKILL, which no program can catch, a ``.NAME.kmeans-quantize-<hex>.tmp``
    file may remain: safe to delete).

    Raises
    ------
    OSError
        If the folder does not exist or is not writable, or ``write`` fails. Its
        ``filename`` is ``path``, never the temporary file.
    """
    temporary = path.with_name(f".{_shortened(path.name)}.{TEMPORARY_MARK}-{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    # Registered before it exists, so that a signal arriving at any point finds it.
    _pending.add(temporary)
    try:
        descriptor = os.open(temporary, flags, 0o666)
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        if error.filename == str(temporary) and error.errno is not None:
            raise type(error)(error.errno, error.strerror, str(path)) from None
        raise
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    finally:
        _pending.discard(temporary)
