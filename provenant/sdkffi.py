"""C2PA SDK calls that c2pa-python exports from its native library but does not wrap yet.

Only one is needed: ``c2pa_builder_sign_embeddable`` in direct mode, which signs a builder
that already holds its hard-binding assertion and returns the manifest ready to embed (for
BMFF, a whole C2PA ``uuid`` box). It lets :mod:`provenant.bmff` hash the asset itself.
"""

from __future__ import annotations

import ctypes
from typing import Any

import c2pa

__all__ = ["embeddable_signing_available", "sign_embeddable"]

try:  # the wrapper's loaded library and its private helpers (c2pa-python 0.38)
    from c2pa import c2pa as _sdk

    _LIB = ctypes.CDLL(_sdk._lib._name)  # own function objects: the wrapper's stay untouched
    _SIGN = _LIB.c2pa_builder_sign_embeddable
    _SIGN.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                      ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte))]
    _SIGN.restype = ctypes.c_int64
    _FREE = _LIB.c2pa_free
    _FREE.argtypes, _FREE.restype = [ctypes.c_void_p], ctypes.c_int
    _HELPERS: Any = (_sdk._check_ffi_operation_result, _sdk._context_guard)
except (ImportError, AttributeError, OSError):
    _HELPERS = None


def embeddable_signing_available() -> bool:
    """Whether this c2pa-python build offers direct-mode embeddable signing."""
    return _HELPERS is not None


def sign_embeddable(builder: c2pa.Builder, mime: str) -> bytes:
    """Sign ``builder`` (made with a Context that carries the signer, holding a complete
    hard binding) and return the embeddable manifest bytes. The builder is closed after."""
    if _HELPERS is None:
        raise RuntimeError("this c2pa-python build has no embeddable signing")
    check, context_guard = _HELPERS
    out = ctypes.POINTER(ctypes.c_ubyte)()
    try:
        with builder._exclusive_native_call(), context_guard(builder._context):
            n = _SIGN(ctypes.cast(builder._handle, ctypes.c_void_p), mime.encode(),
                      ctypes.byref(out))
        check(n, "embeddable signing failed: {}", check=lambda r: r < 0)
        return ctypes.string_at(out, n)
    finally:
        if out:
            _FREE(ctypes.cast(out, ctypes.c_void_p))
        builder.close()
