"""Writing output files all-or-nothing, so a failed command leaves no half-written files."""

import os
import tempfile
from pathlib import Path

__all__ = ["write_files_atomically"]


def write_files_atomically(files):
    """Write ``{path: text or bytes}``: every file is first written to a temporary file beside
    it, and only when all are written are they renamed into place. On any error the
    temporaries are removed and no target file is created or changed."""
    staged = []
    try:
        for path, text in files.items():
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            staged.append((tmp, path))
            with os.fdopen(fd, "wb" if isinstance(text, bytes) else "w") as f:
                f.write(text)
        for tmp, path in staged:
            os.replace(tmp, path)
        staged = []
    finally:
        for tmp, _ in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
