"""``provenant serve`` and ``provenant keys create|list|revoke`` (entry point ``provenant.cli``)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from typing import Any

__all__ = ["register", "cmd_serve", "cmd_keys"]


def register(subparsers: Any) -> None:
    """Add the ``serve`` and ``keys`` commands to the ``provenant`` parser."""
    from api.settings import SCOPES, ApiSettings  # not api.keys: FastAPI loads with it

    # The environment is read when `serve` runs, not here: a bad PROVENANT_API_* value must
    # not break every other command while the parser is built.
    host, port = (ApiSettings.model_fields[n].default for n in ("host", "port"))
    p = subparsers.add_parser("serve", help="run the HTTP API (uvicorn)")
    p.add_argument("--host", default=None,
                   help=f"bind address (default PROVENANT_API_HOST, else {host})")
    p.add_argument("--port", type=int, default=None,
                   help=f"port (default PROVENANT_API_PORT, else {port})")
    p.add_argument("--workers", type=int, default=1,
                   help="server processes (default 1); each has its own bounded pools")
    p.add_argument("--log-level", default="info",
                   choices=("critical", "error", "warning", "info", "debug"))
    p.add_argument("--root-path", default=None,
                   help="path prefix a reverse proxy serves the API under, e.g. /provenant "
                        "(default PROVENANT_API_ROOT_PATH, else none)")
    p.set_defaults(handler=cmd_serve)

    k = subparsers.add_parser("keys", help="manage API keys of the HTTP API")
    ksub = k.add_subparsers(dest="keys_command", metavar="SUBCOMMAND", required=True)
    c = ksub.add_parser("create", help="create a key (its secret is shown once)")
    c.add_argument("--scope", action="append", required=True, choices=SCOPES,
                   help="a scope it grants; repeat for several")
    c.add_argument("--name", help="a label for the key")
    c.add_argument("--json", action="store_true")
    ls = ksub.add_parser("list", help="list keys (ids and scopes, never secrets)")
    ls.add_argument("--json", action="store_true")
    r = ksub.add_parser("revoke", help="revoke a key by id")
    r.add_argument("key_id")
    k.set_defaults(handler=cmd_keys)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from provenant.errors import InputError
    from provenant.provenance import configured_trust_anchors
    from provenant.store import open_store

    from api.db import open_database
    from api.settings import get_api_settings

    if args.workers < 1:
        raise InputError(f"--workers={args.workers} is invalid; allowed: an integer >= 1")
    if args.root_path is not None:  # the workers read it from their settings, as the rest
        os.environ["PROVENANT_API_ROOT_PATH"] = args.root_path
        get_api_settings.cache_clear()
    settings = get_api_settings()  # a bad PROVENANT_API_* value stops here, in one line
    configured_trust_anchors()  # as does a damaged PROVENANT_TRUST_ANCHORS file,
    open_store(), open_database()  # or a damaged store (not a traceback from each worker)
    host = settings.host if args.host is None else args.host
    port = settings.port if args.port is None else args.port
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port,
                root_path=settings.root_path,
                workers=args.workers, log_level=args.log_level, timeout_graceful_shutdown=30)
    return 0


def _when(ts: float | None) -> str | None:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="seconds") \
        if ts else None


def cmd_keys(args: argparse.Namespace) -> int:
    from api.db import open_database
    from api.keys import create_key
    from provenant.errors import NotFoundError

    db = open_database()
    if args.keys_command == "create":
        secret, rec = create_key(db, args.scope, args.name)
        if args.json:
            print(json.dumps({"key": secret, "id": rec.key_id, "scopes": list(rec.scopes),
                              "name": rec.name}, indent=2))
        else:
            print(f"API key {rec.key_id} (scopes: {', '.join(rec.scopes)})\n{secret}\n"
                  "Store it now: it is shown only once (the server keeps only its hash).")
    elif args.keys_command == "list":
        rows = [{"id": r.key_id, "name": r.name, "scopes": list(r.scopes),
                 "created": _when(r.created_at), "revoked": _when(r.revoked_at)}
                for r in db.list_keys()]
        if args.json:
            print(json.dumps(rows, indent=2))
        for row in [] if args.json else rows:
            state = f"revoked {row['revoked']}" if row["revoked"] else "active"
            print(f"{row['id']}  {','.join(row['scopes']):<22} {state:<10} {row['name'] or ''}")
    else:
        if not db.revoke_key(args.key_id):
            raise NotFoundError(f"no active key {args.key_id!r}", hint="see `provenant keys list`")
        print(f"revoked {args.key_id}")
    return 0
