"""``provenant keys …`` and ``provenant serve`` (in-process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.db import open_database
from api.keys import authenticate
from provenant.cli import main


def test_keys_create_list_revoke(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", "--scope", "verify", "--scope", "sign", "--name", "ci",
                 "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["scopes"] == ["verify", "sign"]
    principal = authenticate(open_database(), created["key"])
    assert principal is not None and principal.key_id == created["id"]
    assert main(["keys", "list", "--json"]) == 0
    listed = capsys.readouterr().out
    assert created["id"] in listed and created["key"] not in listed  # secrets never listed
    assert main(["keys", "revoke", created["id"]]) == 0
    assert authenticate(open_database(), created["key"]) is None
    assert main(["keys", "revoke", created["id"]]) == 2  # already revoked
    assert "no active key" in capsys.readouterr().err


def test_keys_create_text_shows_the_secret_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", "--scope", "generate"]) == 0
    out = capsys.readouterr().out
    assert "pvk_" in out and "shown only once" in out


def test_keys_create_refuses_unknown_scopes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["keys", "create", "--scope", "admin"])
    assert exc.value.code == 2


def test_serve_runs_uvicorn_with_the_app_factory(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    assert main(["serve", "--host", "127.0.0.1", "--port", "8123", "--workers", "3"]) == 0
    assert seen["app"] == "api.app:create_app" and seen["factory"] is True
    assert (seen["host"], seen["port"], seen["workers"]) == ("127.0.0.1", 8123, 3)
    assert main(["serve", "--workers", "0"]) == 2


def test_serve_reads_its_environment_when_it_runs(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    import uvicorn

    from api.settings import get_api_settings

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    monkeypatch.setenv("PROVENANT_API_PORT", "8765")
    get_api_settings.cache_clear()
    assert main(["serve"]) == 0 and seen["port"] == 8765
    monkeypatch.setenv("PROVENANT_API_WORKERS", "many")
    get_api_settings.cache_clear()
    try:
        assert main(["credentials", "--json"]) == 0  # other commands do not read it
        capsys.readouterr()
        assert main(["serve"]) == 2
        err = capsys.readouterr().err
        assert "PROVENANT_API_WORKERS='many'" in err and len(err.strip().splitlines()) == 1
    finally:
        get_api_settings.cache_clear()


def test_commands_other_than_serve_do_not_load_fastapi(tmp_path) -> None:
    """Building the parser registers `serve` and `keys`, whose scope choices live in
    api.settings, so the other commands do not pay for FastAPI (checked in a fresh
    interpreter)."""
    import os
    import subprocess
    import sys

    code = ("import sys\n"
            "from provenant.cli import main\n"
            "try:\n"
            "    main(['keys', 'create', '--help'])\n"
            "except SystemExit:\n"
            "    pass\n"
            "print('fastapi' in sys.modules)")
    env = {**os.environ, "PROVENANT_DATA_DIR": str(tmp_path / "data")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120, check=True).stdout
    assert "--scope" in out and out.split()[-1] == "False"


def test_serve_refuses_a_damaged_store_in_one_line(tmp_path: Path, monkeypatch, capsys) -> None:
    import uvicorn

    from provenant.config import get_settings

    (tmp_path / "store.sqlite3").write_bytes(b"not a database " * 100)
    monkeypatch.setenv("PROVENANT_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("the server started"))
    assert main(["serve", "--port", "1"]) == 1
    err = capsys.readouterr().err
    assert "file is damaged" in err and "Traceback" not in err
