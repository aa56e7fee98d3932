"""Commands that read media take several files: provenant.filelist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provenant.errors import (ConfigurationError, InputError, MediaError, NotFittedError,
                              ProvenanceError)
from provenant.filelist import expand_files, report_each


def test_folders_expand_to_their_media_files_sorted(workdir: Path) -> None:
    for name in ("b.mp4", "a.PNG", "c.txt", ".hidden.mp4x"):
        (workdir / name).write_bytes(b"x")
    (workdir / "sub").mkdir()
    (workdir / "sub" / "d.mp4").write_bytes(b"x")
    assert expand_files([str(workdir), "z.jpg"]) == [workdir / "a.PNG", workdir / "b.mp4",
                                                     Path("z.jpg")]


def test_one_file_prints_as_before_and_errors_propagate(capsys, workdir: Path) -> None:
    assert report_each([str(workdir / "x.mp4")], lambda p: ({"file": str(p)}, "text"), True) == 0
    assert json.loads(capsys.readouterr().out) == {"file": str(workdir / "x.mp4")}

    def bad(path: Path):
        raise MediaError(f"{path} is broken")

    with pytest.raises(MediaError):
        report_each([str(workdir / "x.mp4")], bad, False)


def test_several_files_keep_going_past_bad_input_but_not_internal_failures(
    capsys, workdir: Path
) -> None:
    def one(path: Path):
        if path.name == "bad.mp4":
            raise MediaError(f"{path} is broken")
        if path.name == "perm.mp4":
            raise PermissionError(13, "Permission denied")
        return {"file": path.name}, f"ok {path.name}"

    names = ["a.mp4", "bad.mp4", "perm.mp4", "b.mp4"]
    assert report_each(names, one, False) == 2
    out, err = capsys.readouterr()
    assert out.split("\n\n")[0] == "ok a.mp4" and out.rstrip().endswith("ok b.mp4")
    assert "Error: bad.mp4 is broken" in out and "Permission denied: perm.mp4" in out
    assert "2 of 4 files could not be read" in err

    def internal(path: Path):
        raise ProvenanceError("the model file is damaged")  # exit status 1: stop

    with pytest.raises(ProvenanceError):
        report_each(names, internal, True)
    for setup in (ConfigurationError("PROVENANT_TRUST_ANCHORS: certificate 1 of 1 is damaged"),
                  NotFittedError("/models holds no trained detector")):  # exit 2, not the file's
        def failing(path: Path, exc=setup):
            raise exc
        with pytest.raises(type(setup)):
            report_each(names, failing, False)
        assert capsys.readouterr().out == ""  # stopped at once, not one error per file
    with pytest.raises(InputError, match="no media files"):
        report_each([str(workdir)], one, True)
