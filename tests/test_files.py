"""Output files written all-or-nothing, and output paths checked before a command's work."""

import errno
import os

import pytest

from zeroskip import files
from zeroskip.files import (OutputError, check_output_dir, check_output_file,
                            write_files_atomically)

from .conftest import file_tree

TEXT = "module m;\n  // héllo\nendmodule\n"
BYTES = bytes(range(256)) + b"\r\n\x00"


@pytest.fixture
def second_mkstemp_fails(monkeypatch):
    """``tempfile.mkstemp``, as zeroskip.files calls it, raising on its second call."""
    real = files.tempfile.mkstemp
    calls = []

    def mkstemp(*args, **kwargs):
        calls.append(kwargs.get("dir"))
        if len(calls) == 2:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return real(*args, **kwargs)

    monkeypatch.setattr(files.tempfile, "mkstemp", mkstemp)
    return calls


def _assert_one_line_naming(error, path):
    message = str(error)
    assert "\n" not in message
    assert message == f"cannot write {str(path)!r}: {os.strerror(errno.EACCES)}"


def test_writes_text_and_bytes_into_new_folders(tmp_path):
    text_path = tmp_path / "out" / "rtl" / "m.v"
    bytes_path = tmp_path / "out" / "plots" / "p.png"
    write_files_atomically({text_path: TEXT, str(bytes_path): BYTES})
    assert text_path.read_text() == TEXT
    assert bytes_path.read_bytes() == BYTES
    # Nothing else: no temporaries left beside the files.
    assert file_tree(tmp_path) == ["out", "out/plots", "out/plots/p.png", "out/rtl",
                                   "out/rtl/m.v"]


def test_replaces_an_existing_file(tmp_path):
    target = tmp_path / "m.v"
    target.write_text("old contents, longer than the new ones\n")
    write_files_atomically({target: "new\n"})
    assert target.read_text() == "new\n"
    assert file_tree(tmp_path) == ["m.v"]


def test_failure_on_second_file_writes_neither_and_removes_new_folders(tmp_path,
                                                                        second_mkstemp_fails):
    first = tmp_path / "a" / "first.v"
    second = tmp_path / "b" / "deep" / "second.json"
    with pytest.raises(OutputError) as e:
        write_files_atomically({first: TEXT, second: BYTES})
    assert second_mkstemp_fails == [first.parent, second.parent]
    _assert_one_line_naming(e.value, second)
    assert file_tree(tmp_path) == []


def test_failure_keeps_a_folder_that_existed_before(tmp_path, second_mkstemp_fails):
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "keep.txt").write_text("kept\n")
    first = existing / "first.v"
    second = existing / "new" / "second.v"
    with pytest.raises(OutputError) as e:
        write_files_atomically({first: TEXT, second: TEXT})
    _assert_one_line_naming(e.value, second)
    assert file_tree(tmp_path) == ["existing", "existing/keep.txt"]
    assert (existing / "keep.txt").read_text() == "kept\n"


def test_failure_leaves_an_existing_target_unchanged(tmp_path, second_mkstemp_fails):
    target = tmp_path / "m.v"
    target.write_text("old\n")
    with pytest.raises(OutputError):
        write_files_atomically({target: "new\n", tmp_path / "m.json": "{}\n"})
    assert target.read_text() == "old\n"
    assert file_tree(tmp_path) == ["m.v"]


def test_failure_creating_a_folder_names_the_file(tmp_path):
    (tmp_path / "blocker").write_text("a file where a folder should be\n")
    path = tmp_path / "blocker" / "sub" / "m.v"
    with pytest.raises(OutputError) as e:
        write_files_atomically({path: TEXT})
    assert str(e.value).startswith(f"cannot write {str(path)!r}: ")
    assert "\n" not in str(e.value)
    assert file_tree(tmp_path) == ["blocker"]


def test_failure_while_renaming_creates_no_target(tmp_path):
    (tmp_path / "m.json").mkdir()  # the rename onto a folder fails after m.v is renamed
    with pytest.raises(OutputError):
        write_files_atomically({tmp_path / "m.v": TEXT, tmp_path / "m.json": "{}\n"})
    assert file_tree(tmp_path) == ["m.json"]


def test_check_output_dir_rejects_a_file_in_the_way(tmp_path):
    path = tmp_path / "out"
    path.write_text("")
    with pytest.raises(OutputError) as e:
        check_output_dir(path)
    assert str(e.value) == f"--output {str(path)!r} exists and is not a folder"


def test_check_output_dir_rejects_a_path_under_a_file(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    path = blocker / "a" / "b"
    with pytest.raises(OutputError) as e:
        check_output_dir(path, what="--build-dir")
    assert str(e.value) == (f"--build-dir {str(path)!r}: {str(blocker)!r} is a file, "
                            f"not a folder")


def test_check_output_dir_accepts_a_missing_folder_and_creates_nothing(tmp_path):
    check_output_dir(tmp_path / "new" / "deeper")
    check_output_dir(tmp_path)
    assert file_tree(tmp_path) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs POSIX permissions that bind the user (not root)")
def test_check_output_dir_rejects_a_read_only_parent(tmp_path):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        with pytest.raises(OutputError) as e:
            check_output_dir(parent / "out")
    finally:
        parent.chmod(0o700)
    assert str(e.value) == (f"--output {str(parent / 'out')!r}: cannot write in "
                            f"{str(parent)!r} (permission denied or read-only)")


def test_check_output_file_rejects_a_folder(tmp_path):
    with pytest.raises(OutputError) as e:
        check_output_file(tmp_path, "--report")
    assert str(e.value) == f"--report {str(tmp_path)!r} is a folder, not a file"


def test_check_output_file_rejects_a_file_as_its_folder(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    path = blocker / "report.json"
    with pytest.raises(OutputError) as e:
        check_output_file(path, "--report")
    assert str(e.value) == (f"--report {str(path)!r}: folder {str(blocker)!r} exists and is "
                            f"not a folder")


def test_check_output_file_rejects_a_path_under_a_file(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    path = blocker / "sub" / "report.json"
    with pytest.raises(OutputError) as e:
        check_output_file(path, "--report")
    assert str(e.value) == (f"--report {str(path)!r}: folder {str(path.parent)!r}: "
                            f"{str(blocker)!r} is a file, not a folder")


def test_check_output_file_accepts_a_file_in_a_missing_folder(tmp_path):
    check_output_file(tmp_path / "new" / "report.json", "--report")
    assert file_tree(tmp_path) == []

