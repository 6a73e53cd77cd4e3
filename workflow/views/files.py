"""Writing a report file whole or not at all: a temporary file beside the target, renamed
into place when complete. Operating-system errors become ours here, once."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from workflow.errors import ConflictError, NotFoundError, UsageError


def check_target(path: str, suffixes: tuple[str, ...], *, force: bool) -> Path:
    """The file ``path`` names, checked before any work: a known suffix, a folder that exists,
    not a folder itself, and an existing file only with ``force``."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder; name a file in it")
    if target.suffix.lower() not in suffixes:
        raise UsageError(f"cannot tell what to write to {path}: name a file ending in "
                         f"{' or '.join(suffixes)}")
    if not target.parent.is_dir():
        raise NotFoundError(f"cannot write {path}: no folder {target.parent}; create it first")
    if not os.access(target.parent, os.W_OK):
        raise NotFoundError(f"cannot write {path}: the folder {target.parent} is not writable "
                            "for you; choose another --output")
    if target.exists() and not force:
        raise ConflictError(f"{path} already exists; nothing was written; add --force to "
                            "replace it")
    return target


@contextmanager
def atomic(target: Path) -> Iterator[IO[bytes]]:
    """A binary stream whose content replaces ``target`` only when the block completes."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as err:
        raise NotFoundError(f"cannot write {target}: {err.strerror}") from None
    try:
        with open(fd, "wb") as stream:
            yield stream
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # as open() would have made it (mkstemp makes 0600)
        os.replace(tmp, target)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise NotFoundError(f"cannot write {target}: {err.strerror}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
