"""The one error tree of Provenant.

Every error a user can meet derives from :class:`ProvenanceError` and carries a
``hint`` that says what to do next. Children also subclass the fitting built-in,
so ``except ValueError`` keeps working for library users::

    ProvenanceError
    ├── InputError (ValueError)                 bad usage or input: CLI exit 2
    │   ├── MediaError                          unreadable, corrupt or unsupported media
    │   │   ├── UnsupportedMediaError           not a video or image we can read
    │   │   │   └── AudioOnlyError              a sound recording (an M4A): no pictures
    │   │   └── MediaLimitError                 beyond the configured size limits
    │   ├── PayloadError                        a watermark payload of the wrong form
    │   └── ConfigurationError                  a setting or option with a bad value
    ├── CredentialError (ValueError)            a certificate or key that cannot sign: exit 2
    ├── SigningError (RuntimeError)             the C2PA SDK refused to sign
    │   └── TimestampError                      the timestamp authority gave none: exit 2
    ├── VerificationError (RuntimeError)        the C2PA SDK could not read a manifest store
    ├── StoreError (RuntimeError)               the manifest store failed
    │   └── NotFoundError (KeyError)            no such manifest, job or key
    ├── NotFittedError (AttributeError)         a model used before fit or load: exit 2
    └── CapabilityUnavailableError (RuntimeError) a component that is not installed

Something the work went on without (a subtitle track an MP4 cannot hold) is said by
:func:`notice`: a :class:`ProvenanceWarning` through :mod:`warnings`, which the CLI prints as
``provenant: warning: ...``, or, inside :func:`collect_notices`, a line in the list it gives
(the HTTP service returns them with the job's result: the :mod:`warnings` filters are one
per process, a context variable is one per thread).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = [
    "ProvenanceError",
    "InputError",
    "MediaError",
    "UnsupportedMediaError",
    "AudioOnlyError",
    "MediaLimitError",
    "PayloadError",
    "ConfigurationError",
    "CredentialError",
    "SigningError",
    "TimestampError",
    "VerificationError",
    "StoreError",
    "NotFoundError",
    "NotFittedError",
    "CapabilityUnavailableError",
    "ProvenanceWarning",
    "notice",
    "collect_notices",
]


class ProvenanceError(Exception):
    """Root of every Provenant error. ``hint`` says what to do next."""

    #: CLI exit status for this error: 2 for bad usage or input, 1 for internal failures.
    exit_code: int = 1
    default_hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message

    @property
    def code(self) -> str:
        """Stable machine-readable name, e.g. ``media_limit`` for :class:`MediaLimitError`."""
        name = type(self).__name__.removesuffix("Error") or "Provenance"
        out = []
        for i, ch in enumerate(name):
            if ch.isupper() and i:
                out.append("_")
            out.append(ch.lower())
        return "".join(out)


class InputError(ProvenanceError, ValueError):
    exit_code = 2
    default_hint = "check the command's arguments; `provenant --help` lists them"


class MediaError(InputError):
    default_hint = ("give a readable MP4/MOV/WebM/MKV/AVI/MPEG-TS/MXF/GIF video or a "
                    "PNG/JPEG/WebP/HEIC/AVIF/TIFF image")


class UnsupportedMediaError(MediaError):
    pass


class AudioOnlyError(UnsupportedMediaError):
    """A container that holds sound and no pictures (an M4A voice memo, a podcast): the
    watermark and the classifier have nothing to read, and ``verify`` reads its content
    credentials alone."""

    default_hint = ("the watermark and the classifier read pictures: give the video the sound "
                    "belongs to; `provenant verify` still reads a recording's content credentials")


class MediaLimitError(MediaError):
    default_hint = ("raise the limit with the PROVENANT_MAX_* settings (the HTTP service: "
                    "PROVENANT_API_MAX_*) if this file is trusted")


class PayloadError(InputError):
    default_hint = "give the payload as hexadecimal, e.g. --payload 0123456789abcdef"


class ConfigurationError(InputError):
    default_hint = "see `provenant --help` and the PROVENANT_* settings in the README"


class CredentialError(ProvenanceError, ValueError):
    exit_code = 2
    default_hint = (
        "give an X.509 v3 chain (leaf first) with O= in the subject, KeyUsage digitalSignature, "
        "an EKU, an AKI and a CA issuer, plus its matching private key"
    )


class SigningError(ProvenanceError, RuntimeError):
    default_hint = "check the certificate and the input file; run with --verbose for details"


class TimestampError(SigningError):
    """The RFC 3161 timestamp authority gave no timestamp, so nothing was signed."""

    exit_code = 2
    default_hint = ("check the timestamp authority URL (--tsa-url, PROVENANT_TSA_URL) and that "
                    "it is reachable, or sign without a timestamp")


class VerificationError(ProvenanceError, RuntimeError):
    default_hint = "the file's manifest store could not be read; it may be corrupt"


class StoreError(ProvenanceError, RuntimeError):
    default_hint = "check that the data directory (PROVENANT_DATA_DIR) is writable"


class NotFoundError(StoreError, KeyError):
    exit_code = 2
    default_hint = "check the identifier"

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return ProvenanceError.__str__(self)


class NotFittedError(ProvenanceError, AttributeError):
    exit_code = 2  # a folder without trained weights was given, or none were trained yet
    default_hint = "call fit() first or load trained weights with from_pretrained()"


class CapabilityUnavailableError(ProvenanceError, RuntimeError):
    exit_code = 2
    default_hint = "install the component, e.g. `pip install -e .`"


class ProvenanceWarning(UserWarning):
    """Something left out of a result that the work still delivers; the message says what
    and how to keep it."""


_NOTICES: ContextVar[list[str] | None] = ContextVar("provenant_notices", default=None)


def notice(message: str) -> None:
    """Say what a result goes without: into the list of the enclosing
    :func:`collect_notices`, else as a :class:`ProvenanceWarning`."""
    collected = _NOTICES.get()
    if collected is None:
        warnings.warn(message, ProvenanceWarning, stacklevel=3)
    else:
        collected.append(message)


@contextmanager
def collect_notices() -> Iterator[list[str]]:
    """The notices of the work done inside, in this thread, as a list (no warnings)."""
    collected: list[str] = []
    token = _NOTICES.set(collected)
    try:
        yield collected
    finally:
        _NOTICES.reset(token)
