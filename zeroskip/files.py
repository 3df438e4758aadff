"""Writing output files all-or-nothing, so a failed command leaves no half-written files."""

import os
import tempfile
from pathlib import Path

__all__ = ["OutputError", "check_output_dir", "check_output_file", "write_files_atomically"]


class OutputError(OSError):
    """An output path cannot be written; the message is one line naming the path."""


def _reason(error):
    return error.strerror or str(error)


def _first_existing(path):
    """``path`` or its nearest existing ancestor."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_output_dir(path, what="--output"):
    """Raise :class:`OutputError` unless ``path`` is (or can be created as) a writable folder.
    Run before a command's work, so that a bad output path fails at once, not after it."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{what} {str(path)!r} exists and is not a folder")
    existing = _first_existing(path)
    if not existing.is_dir():
        raise OutputError(f"{what} {str(path)!r}: {str(existing)!r} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{what} {str(path)!r}: cannot write in {str(existing)!r} "
                          f"(permission denied or read-only)")


def check_output_file(path, what):
    """As :func:`check_output_dir`, for a file to be written at ``path``."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{what} {str(path)!r} is a folder, not a file")
    check_output_dir(path.parent, f"{what} {str(path)!r}: folder")


def write_files_atomically(files):
    """Write ``{path: text or bytes}``: every file is first written to a temporary file beside
    it, and only when all are written are they renamed into place, each existing target
    moved aside first so that it can be put back. On any error the temporaries and the
    folders this call created are removed, every target is as it was before, and
    :class:`OutputError` says which path failed and why."""
    staged, created, placed = [], [], []
    try:
        for path, text in files.items():
            path = Path(path)
            try:
                for folder in reversed([path.parent, *path.parent.parents]):
                    if not folder.exists():
                        folder.mkdir()
                        created.append(folder)
                if path.is_dir():
                    raise IsADirectoryError(21, "Is a directory")
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                           suffix=".tmp")
                staged.append((tmp, path))
                with os.fdopen(fd, "wb" if isinstance(text, bytes) else "w") as f:
                    f.write(text)
            except OSError as e:
                raise OutputError(f"cannot write {str(path)!r}: {_reason(e)}") from None
        for tmp, path in staged:
            try:
                backup = None
                if os.path.lexists(path):
                    backup = tempfile.mktemp(dir=path.parent, prefix=f".{path.name}.",
                                             suffix=".old")
                    os.replace(path, backup)
                placed.append((path, backup))
                os.replace(tmp, path)
            except OSError as e:
                raise OutputError(f"cannot write {str(path)!r}: {_reason(e)}") from None
        for _, backup in placed:
            if backup is not None:
                os.unlink(backup)
        staged, created, placed = [], [], []
    finally:
        for path, backup in reversed(placed):
            if os.path.lexists(path) and (backup is None or os.path.lexists(backup)):
                os.unlink(path)
            if backup is not None and os.path.lexists(backup):
                os.replace(backup, path)
        for tmp, _ in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
        for folder in reversed(created):
            try:
                folder.rmdir()
            except OSError:
                pass
