"""Writing a report file whole or not at all: a temporary file beside the target, renamed
into place when complete. Operating-system errors become ours here, once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from workflow import outfile
from workflow.errors import ConflictError, NotFoundError, UsageError
from workflow.i18n import _


def check_target(path: str, suffixes: tuple[str, ...], *, force: bool) -> Path:
    """The file ``path`` names, checked before any work: a known suffix, a folder that exists,
    not a folder itself, and an existing file only with ``force``."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise UsageError(_("cannot write {path}: it is a folder; name a file in it").format(
            path=path))
    if target.suffix.lower() not in suffixes:
        raise UsageError(_("cannot tell what to write to {path}: name a file ending in "
                           "{suffixes}").format(path=path, suffixes=_(" or ").join(suffixes)))
    if not target.parent.is_dir():
        raise NotFoundError(_("cannot write {path}: no folder {folder}; create it first").format(
            path=path, folder=target.parent))
    if not os.access(target.parent, os.W_OK):
        raise NotFoundError(_("cannot write {path}: the folder {folder} is not writable for "
                              "you; choose another --output").format(
            path=path, folder=target.parent))
    if target.exists() and not force:
        raise ConflictError(_("{path} already exists; nothing was written; add --force to "
                              "replace it").format(path=path))
    return target


@contextmanager
def atomic(target: Path) -> Iterator[IO[bytes]]:
    """A binary stream whose content replaces ``target`` only when the block completes
    (through ``workflow.outfile``, the one place that writes files)."""
    with outfile.binary(str(target), None) as stream:  # type: ignore[arg-type]: never stdout
        yield stream
