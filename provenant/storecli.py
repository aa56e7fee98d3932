"""``provenant store``: look up the manifests this installation issued (get, export, find)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from provenant.errors import InputError

__all__ = ["add_store_parser", "cmd_store"]

#: Records ``store find`` prints unless told otherwise (``--limit``), and the most it takes.
DEFAULT_LIMIT, MAX_LIMIT = 100, 1_000_000
#: The longest ``--key-id`` (ours are 8 hex digits; another stamper's may be longer).
MAX_KEY_ID = 128


def add_store_parser(sub: Any) -> None:
    """Add ``store`` and its subcommands to the CLI's subparsers ``sub``."""
    p = sub.add_parser("store", help="look up issued manifests")
    ssub = p.add_subparsers(dest="store_command", required=True)
    g = ssub.add_parser("get", help="a manifest by id")
    g.add_argument("manifest_id")
    e = ssub.add_parser("export", help="a manifest as it was signed, as a .c2pa file")
    e.add_argument("manifest_id")
    e.add_argument("-o", "--output", required=True, help="where to write it (NAME.c2pa)")
    f = ssub.add_parser("find", help="manifests by soft binding, or by the watermark key "
                                     "that made their marks")
    f.add_argument("--alg", help="soft-binding algorithm (with --value)")
    f.add_argument("--value", help="the binding's value (with --alg)")
    f.add_argument("--key-id", help="the public id of a watermark key (`provenant watermark "
                                    "keys`): the manifests whose marks it made, newest first")
    f.add_argument("--limit", type=int, default=DEFAULT_LIMIT,
                   help=f"at most this many records (default {DEFAULT_LIMIT})")
    p.set_defaults(handler=cmd_store)


def cmd_store(args: argparse.Namespace) -> int:
    from provenant.store import open_store

    if args.store_command == "find":
        _check_find(args)
    store = open_store(read_only_ok=True)
    if args.store_command == "get":
        record = store.get(args.manifest_id).to_dict()
        copy = store.signed_manifest(args.manifest_id)  # what `store export` would write
        _print_json({**record, "signed_copy_bytes": None if copy is None else len(copy)})
    elif args.store_command == "export":
        return _export_manifest(store, args.manifest_id, Path(args.output))
    elif args.key_id:
        found = store.find_by_watermark_key(args.key_id, args.limit)
        total = store.count_by_watermark_key(args.key_id).get(args.key_id, 0)
        _print_json({"key_id": args.key_id, "total": total,
                     "matches": [r.to_dict() for r in found]})
    else:
        found = store.find_by_binding(args.alg, args.value)[: args.limit]
        _print_json({"matches": [r.to_dict() for r in found]})
    return 0


def _check_find(args: argparse.Namespace) -> None:
    """``find`` takes ``--alg`` with ``--value``, or ``--key-id``."""
    by_binding = args.alg is not None or args.value is not None
    if args.key_id is not None and by_binding:
        raise InputError("--key-id cannot be combined with --alg/--value",
                         hint="find by soft binding or by watermark key, one at a time")
    if args.key_id is None and (args.alg is None or args.value is None):
        raise InputError("store find needs --alg and --value, or --key-id",
                         hint="e.g. `provenant store find --key-id 1a2b3c4d` lists the "
                              "manifests whose marks that watermark key made")
    if not 1 <= args.limit <= MAX_LIMIT:
        raise InputError(f"--limit={args.limit} is invalid; allowed: an integer from 1 to "
                         f"{MAX_LIMIT:,}")
    if args.key_id is not None and not (0 < len(args.key_id) <= MAX_KEY_ID
                                        and args.key_id.isprintable()):
        raise InputError(f"--key-id is invalid; allowed: up to {MAX_KEY_ID} printable "
                         "characters, as `provenant watermark keys` lists them")


def _export_manifest(store: Any, manifest_id: str, output: Path) -> int:
    from provenant.errors import NotFoundError
    from provenant.media import check_output_path, check_output_suffix
    from provenant.tempnames import write_whole

    check_output_suffix(check_output_path(output), (".c2pa",), "a C2PA manifest store")
    store.get(manifest_id)  # NotFoundError names an unknown id
    data = store.signed_manifest(manifest_id)
    if data is None:
        raise NotFoundError(f"the manifest store keeps no signed copy of {manifest_id}",
                            hint="manifests registered before signed copies were kept have "
                                 "their facts alone (`provenant store get`)")
    write_whole(output, lambda tmp: tmp.write_bytes(data))
    print(f"Wrote {output} ({len(data):,} bytes); check it against the file it was issued for with "
          f"`provenant verify FILE --manifest {output}`")
    return 0


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))
