"""Fixtures of the core's tests: development credentials and a signed clip."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenant.credentials import ensure_dev_credentials
from provenant.manifest import SignOptions, sign_file


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory):
    """A module's own development credentials."""
    return ensure_dev_credentials(tmp_path_factory.mktemp("creds"))


@pytest.fixture(scope="module")
def signed(creds, clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test clip signed as AI-generated with :func:`creds`."""
    out = tmp_path_factory.mktemp("signed") / "s.mp4"
    sign_file(clip, out, creds, SignOptions(source_type="trainedAlgorithmicMedia"))
    return out
