"""Reading and writing files so that nothing hangs and nothing the user had is lost.

* :func:`require_regular_file` refuses, before anything opens it, a path that is not a
  regular file: a named pipe (FIFO) or a device would block a reader forever or stream
  without end (``/dev/zero``), also when reached through a symbolic link.
* :func:`atomic_output` writes through a temporary file in the target's folder, flushed
  to the disk, then moved over the target with :func:`os.replace`. A failed write (full
  disk, read-only folder, a writer that reports failure) removes the temporary and raises
  one :class:`~core.errors.HillwalkError`; an existing file of that name is never
  damaged and no partial file is left behind.
"""
from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

from ..errors import HillwalkError

_KIND_NAMES = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def require_regular_file(path, what: str = "file", allow_folder: bool = False) -> Path:
    """``path`` as a :class:`Path` if it names a regular file (or, with ``allow_folder``,
    a folder), following symbolic links; otherwise a :class:`HillwalkError` that says what
    it is instead. Nothing is opened."""
    path = Path(path)
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise HillwalkError(f"{path}: no such {what}") from None
    except OSError as error:
        raise HillwalkError(f"{path}: cannot read the {what} ({error.strerror or error})") from None
    if stat.S_ISREG(status.st_mode) or (allow_folder and stat.S_ISDIR(status.st_mode)):
        return path
    if stat.S_ISDIR(status.st_mode):
        raise HillwalkError(f"{path}: is a folder; choose a {what}")
    kind = next((name for test, name in _KIND_NAMES if test(status.st_mode)), "not a regular file")
    link = " (through a symbolic link)" if path.is_symlink() else ""
    raise HillwalkError(f"{path}: is {kind}{link}, not a regular file; give the path of a {what} on disk")


def describe_write_error(error: OSError) -> str:
    """A short reason for a failed write, in the user's words."""
    if error.errno == errno.ENOSPC or error.errno == errno.EDQUOT:
        return "the disk is full; free some space or choose another folder"
    if error.errno in (errno.EROFS,):
        return "the folder is on a read-only file system; choose another folder"
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied; choose a folder you can write to"
    if error.errno == errno.ENAMETOOLONG:
        return "the file name is too long"
    return error.strerror or str(error)


def check_output_folder(path, what: str = "output file") -> Path:
    """``path`` as a :class:`Path` if its folder exists and ``path`` is not a folder."""
    path = Path(path)
    if not path.parent.is_dir():
        raise HillwalkError(f"{path.parent}: no such folder for the {what}")
    if path.is_dir():
        raise HillwalkError(f"{path}: is a folder; give a file name for the {what}")
    # checked before any work, so that a long computation does not end in a refusal; the
    # write itself still reports what it meets (a full disk, a folder made read-only since)
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise HillwalkError(f"{path.parent}: cannot write the {what} into this folder (read-only or no "
                            "permission); choose another folder")
    return path


@contextlib.contextmanager
def atomic_output(path, what: str = "file"):
    """Yield a temporary path beside ``path`` (same folder, same suffix, so that writers
    that pick the format from the name still do); when the block ends normally the
    temporary is flushed to disk and moved over ``path``.

    The block signals a writer's failure by raising (an ``OSError`` or a
    :class:`HillwalkError`); then, and on every other exception, the temporary is removed
    and ``path`` is left exactly as it was. ``OSError`` becomes a one-line
    :class:`HillwalkError` naming ``path``.
    """
    path = check_output_folder(path, what)
    # through a symbolic link the file it points to is written, as a plain open() would
    target = Path(os.path.realpath(path))
    existed = target.exists()
    unchanged = "the existing file is unchanged" if existed else "nothing was written"
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.stem[:40]}.", suffix=f".part{target.suffix}",
                                             dir=target.parent)
        os.close(handle)
    except OSError as error:
        raise HillwalkError(f"{path}: could not write the {what}: {describe_write_error(error)}") from None
    temporary = Path(temporary)
    try:
        yield temporary
        if not temporary.exists() or temporary.stat().st_size == 0:
            raise HillwalkError(f"{path}: could not write the {what}: the writer produced nothing; {unchanged}")
        _flush_to_disk(temporary)
        if existed:  # keep the permissions the user gave the old file
            with contextlib.suppress(OSError):
                os.chmod(temporary, stat.S_IMODE(os.stat(target).st_mode))
        else:  # mkstemp makes 0600; a new file gets the usual permissions
            umask = os.umask(0)
            os.umask(umask)
            with contextlib.suppress(OSError):
                os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
    except OSError as error:
        _remove(temporary)
        raise HillwalkError(f"{path}: could not write the {what}: {describe_write_error(error)}; "
                            f"{unchanged}") from None
    except BaseException:
        _remove(temporary)
        raise


def write_bytes_atomically(path, data: bytes, what: str = "file") -> Path:
    """Write ``data`` to ``path`` through :func:`atomic_output`."""
    with atomic_output(path, what) as temporary, open(temporary, "wb") as handle:
        handle.write(data)
    return Path(path)


def write_text_atomically(path, text: str, what: str = "file", encoding: str = "utf-8") -> Path:
    """Write ``text`` (newlines as they are) to ``path`` through :func:`atomic_output`."""
    return write_bytes_atomically(path, text.encode(encoding), what)


def _flush_to_disk(path: Path):
    # A full disk can accept the write into the page cache and fail only at flush time.
    with open(path, "rb+") as handle:
        handle.flush()
        os.fsync(handle.fileno())


def _remove(path: Path):
    with contextlib.suppress(OSError):
        path.unlink()
