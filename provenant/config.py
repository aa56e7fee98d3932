"""Settings: environment variables ``PROVENANT_*`` and a data directory.

``get_settings()`` is cached; tests override it by setting environment variables and
calling ``get_settings.cache_clear()``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings", "load_settings", "default_data_dir"]


def default_data_dir() -> Path:
    import os

    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "provenant"


class Settings(BaseSettings):
    """All of Provenant's settings. Every field can be set as ``PROVENANT_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="PROVENANT_", frozen=True, extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    #: Refuse files larger than this many bytes (2 GiB).
    max_file_bytes: int = Field(default=2 * 1024**3, gt=0)
    #: Refuse video frames with more pixels than this (8K UHD).
    max_pixels: int = Field(default=7680 * 4320, gt=0)
    #: Refuse still images with more pixels than this (100 MP: phones take 48-50 MP photos).
    max_image_pixels: int = Field(default=100_000_000, gt=0)
    #: Refuse videos with more frames than this.
    max_frames: int = Field(default=200_000, gt=0)
    #: Refuse videos longer than this many seconds (2 h).
    max_duration_s: float = Field(default=7200.0, gt=0)
    #: PEM file of trust anchors; the dev CA is trusted only when listed here.
    trust_anchors: Path | None = None
    #: Optional RFC 3161 timestamp authority URL used when signing.
    tsa_url: str | None = None
    #: User's signing chain (PEM, leaf first) and key; the dev credentials are used otherwise.
    sign_cert: Path | None = None
    sign_key: Path | None = None
    #: Passphrase of a protected ``sign_key`` (also used for ``sign --key``).
    sign_key_password: SecretStr | None = None

    @property
    def sign_key_passphrase(self) -> bytes | None:
        """``sign_key_password`` as the bytes a key loader takes (an empty one is none)."""
        value = self.sign_key_password.get_secret_value() if self.sign_key_password else ""
        return value.encode() or None

    @property
    def store_path(self) -> Path:
        return self.data_dir / "store.sqlite3"

    @property
    def credentials_dir(self) -> Path:
        return self.data_dir / "dev-credentials"


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S]) -> S:
    """``cls()`` read from the environment; a bad value is a :class:`ConfigurationError`
    that names the variable (exit status 2), not a traceback."""
    from pydantic import ValidationError

    from provenant.errors import ConfigurationError

    try:
        return cls()
    except ValidationError as exc:
        prefix = str(cls.model_config.get("env_prefix", ""))
        problems = "; ".join(
            f"{prefix}{'_'.join(map(str, e['loc'])).upper()}={e.get('input')!r}: {e['msg']}"
            for e in exc.errors())
        raise ConfigurationError(f"invalid setting: {problems}",
                                 hint="fix or unset the environment variable") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment.

    Tests and embedding applications change the environment and call
    ``get_settings.cache_clear()``.
    """
    return load_settings(Settings)
