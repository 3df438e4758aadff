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
    it, and only when all are written are they renamed into place. On any error the
    temporaries and the folders this call created are removed, no target file is created or
    changed, and :class:`OutputError` says which path failed and why."""
    staged, created = [], []
    try:
        for path, text in files.items():
            path = Path(path)
            try:
                for folder in reversed([path.parent, *path.parent.parents]):
                    if not folder.exists():
                        folder.mkdir()
                        created.append(folder)
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                           suffix=".tmp")
                staged.append((tmp, path))
                with os.fdopen(fd, "wb" if isinstance(text, bytes) else "w") as f:
                    f.write(text)
            except OSError as e:
                raise OutputError(f"cannot write {str(path)!r}: {_reason(e)}") from None
        for tmp, path in staged:
            try:
                os.replace(tmp, path)
            except OSError as e:
                raise OutputError(f"cannot write {str(path)!r}: {_reason(e)}") from None
        staged, created = [], []
    finally:
        for tmp, _ in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
        for folder in reversed(created):
            try:
                folder.rmdir()
            except OSError:
                pass
