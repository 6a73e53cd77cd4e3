"""Writing a command's output to ``--output PATH``: the one place that writes files.

Every command that writes a file (history export now; reports and exports later) goes
through ``binary`` or ``text``. The rules:

- ``-`` (or no path) means standard output.
- Only a regular file is replaced (a symbolic link is followed to it). A directory, device,
  FIFO or socket is refused with one line (``UsageError``, exit 2): ``--output /dev/full``
  must never turn a device into a file.
- The content goes to a temporary file in the same folder, is flushed to disk, and is renamed
  over the target only when complete: a failed export leaves the old file as it was and no
  half file. A replaced file keeps its permission bits and its owner; a new one gets the
  mode ``open()`` would give it (0666 less the umask).
- The OS refusing (permission, disk full, an owner that cannot be kept) and a missing folder
  are one line too (``NotFoundError``, exit 5: the path named cannot take the file).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from io import TextIOWrapper
from pathlib import Path
from typing import IO

from workflow.errors import NotFoundError, UsageError, WorkflowError
from workflow.i18n import N_, _

STDOUT = "-"

_KINDS = ((stat.S_ISDIR, N_("a directory; name a file in it")),
          (stat.S_ISCHR, N_("a character device, not a regular file")),
          (stat.S_ISBLK, N_("a block device, not a regular file")),
          (stat.S_ISFIFO, N_("a FIFO (named pipe), not a regular file")),
          (stat.S_ISSOCK, N_("a socket, not a regular file")))


def is_stdout(path: str | None) -> bool:
    return path is None or path == STDOUT


@contextmanager
def text(path: str | None, stdout: IO[bytes]) -> Iterator[IO[str]]:
    """A UTF-8 text stream (newlines as written) to ``path``, or to ``stdout`` (binary)."""
    with binary(path, stdout) as raw:
        stream = TextIOWrapper(raw, encoding="utf-8", newline="")
        try:
            yield stream
            stream.flush()
        finally:
            stream.detach()  # the binary stream is closed (or left open) by ``binary``


@contextmanager
def binary(path: str | None, stdout: IO[bytes]) -> Iterator[IO[bytes]]:
    """A binary stream to ``path`` (replaced whole or not at all), or ``stdout`` itself."""
    if is_stdout(path):
        yield stdout
        stdout.flush()
        return
    target = _target(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as err:
        raise _os_error(path, err) from None
    try:
        with open(fd, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        _take_over(tmp, target, path)
        os.replace(tmp, target)
    except OSError as err:
        raise _os_error(path, err) from None
    finally:
        Path(tmp).unlink(missing_ok=True)  # gone already when the rename happened
    _sync_folder(target.parent)


def _target(path: str) -> Path:
    """Where the file will be: the path, with any symbolic link followed; checked."""
    target = Path(os.path.realpath(Path(path).expanduser()))
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        if not target.parent.is_dir():
            raise NotFoundError(_("cannot write {path}: no directory {folder}").format(
                path=path, folder=target.parent)) from None
        return target
    except OSError as err:
        raise _os_error(path, err) from None
    for test, what in _KINDS:
        if test(mode):
            raise UsageError(_("cannot write {path}: it is {what} (--output takes a regular "
                               "file, or - for standard output)").format(path=path, what=_(what)))
    return target


def _take_over(tmp: str, target: Path, path: str) -> None:
    """Gives the temporary file the mode and owner of the file it replaces (or of a new file)."""
    try:
        old = target.stat()
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # as open() would have made it (mkstemp makes 0600)
        return
    new = os.stat(tmp)
    if (new.st_uid, new.st_gid) != (old.st_uid, old.st_gid):
        try:
            os.chown(tmp, old.st_uid, old.st_gid)
        except PermissionError:
            raise NotFoundError(_("cannot write {path}: it belongs to another user (uid {uid}, "
                                  "gid {gid}) and replacing it would make it yours; nothing was "
                                  "written. Remove it first, or write another file").format(
                path=path, uid=old.st_uid, gid=old.st_gid)) from None
    os.chmod(tmp, stat.S_IMODE(old.st_mode))  # after chown, which may clear set-id bits


def _sync_folder(folder: Path) -> None:
    """Makes the rename itself durable; a folder that cannot be opened is no error."""
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _os_error(path: str, err: OSError) -> WorkflowError:
    # Exit 5 (README: "an --output that cannot be written"): the place named cannot take the
    # file (permission, read-only, disk full); that is the user's path, not a bug (exit 1).
    return NotFoundError(_("cannot write {path}: {reason}; nothing was written").format(
        path=path, reason=err.strerror or err))
