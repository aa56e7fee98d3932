"""``provenant``: a thin command line over the library. Exit codes: 0 done, 2 bad usage or
input (one line, no traceback), 1 internal failure."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from provenant import __version__
from provenant.errors import InputError, ProvenanceError, ProvenanceWarning
from provenant.storecli import add_store_parser

__all__ = ["main", "build_parser", "command_group", "FILES_HELP"]

#: The help of the file argument of the commands that read media (see provenant.filelist).
FILES_HELP = ("a video or image; several, or folders (their media files), give one result "
              "each, as JSON Lines with --json")


def command_group(subparsers: Any, name: str, help: str) -> Any:
    """The sub-command group ``name`` (e.g. ``train``, ``eval``), created on first use.

    Components call this from their ``register(subparsers)`` so that, say, the generator and
    the detector can both add to ``provenant train …``.
    """
    parser = subparsers.choices.get(name)
    if parser is None:
        parser = subparsers.add_parser(name, help=help)
        return parser.add_subparsers(dest=f"{name}_command", metavar="WHAT", required=True)
    for action in parser._actions:  # argparse keeps the group's sub-parsers action here
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise RuntimeError(f"command {name!r} exists but is not a group")


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


def _load_assertions(value: str | None) -> tuple[dict[str, Any], ...]:
    if not value:
        return ()
    text = Path(value[1:]).read_text() if value.startswith("@") else value
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"--assertions is not valid JSON: {exc}",
                         hint='give a JSON list, or @file.json') from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise InputError("--assertions must be a JSON object or list of objects")
    return tuple(data)


def _credentials(args: argparse.Namespace):
    from provenant.credentials import load_credentials
    from provenant.provenance import default_credentials

    if args.cert or args.key:
        if not (args.cert and args.key):
            raise InputError("give both --cert and --key")
        from provenant.config import get_settings

        return load_credentials(Path(args.cert), Path(args.key), tsa_url=args.tsa_url,
                                password=get_settings().sign_key_passphrase)
    creds = default_credentials()
    # --tsa-url with the configured or development credentials (it was dropped here)
    return replace(creds, tsa_url=args.tsa_url) if args.tsa_url else creds


def _sign_options(args: argparse.Namespace):
    from provenant.manifest import SignOptions

    return SignOptions(
        source_type=args.source_type,
        parent=Path(args.parent) if getattr(args, "parent", None) else None,
        title=args.title,
        extra_assertions=_load_assertions(args.assertions),
    )


def _result_dict(result) -> dict[str, Any]:
    return {
        "output": str(result.path), "manifest_id": result.manifest_id, "signer": result.signer,
        "development_credentials": result.development_credentials,
        "source_type": result.source_type,
        "soft_bindings": [{"alg": a, "value": v} for a, v in result.soft_bindings],
    }


def _print_signed(result, as_json: bool) -> None:
    if as_json:
        _print_json(_result_dict(result))
        return
    dev = " [development credentials: not trusted outside this machine]" \
        if result.development_credentials else ""
    print(f"Signed {result.path}\n  manifest {result.manifest_id}\n  signer   {result.signer}{dev}")
    for alg, value in result.soft_bindings:
        print(f"  soft binding {alg} = {value}")


def cmd_sign(args: argparse.Namespace) -> int:
    from provenant.provenance import sign

    result = sign(args.input, args.output, _sign_options(args), credentials=_credentials(args))
    _print_signed(result, args.json)
    return 0


def cmd_stamp(args: argparse.Namespace) -> int:
    from provenant.provenance import stamp

    result = stamp(args.input, args.output, _sign_options(args), credentials=_credentials(args))
    _print_signed(result, args.json)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from provenant.filelist import MEDIA_SUFFIXES, report_each
    from provenant.provenance import verify
    from provenant.report import render_text
    from provenant.sniff import CREDENTIAL_ONLY_SUFFIXES

    options = {"key": args.key} if args.key else {}
    anchors = Path(args.trust_anchors) if args.trust_anchors else None
    if args.manifest and (len(args.file) > 1 or Path(args.file[0]).is_dir()):
        raise InputError("--manifest belongs to one file: give that file alone")
    if args.resolver:
        from provenant.resolver import resolver_urls

        resolver_urls(args.resolver)  # before any file is read

    def one(path: Path) -> tuple[dict[str, Any], str]:
        report = verify(path, trust_anchors=anchors, options=options, manifest=args.manifest,
                        resolver=args.resolver)
        return report.to_dict(), render_text(report)

    # a folder's files whose content credentials alone are read count too (a camera's DNGs)
    return report_each(args.file, one, args.json, MEDIA_SUFFIXES + CREDENTIAL_ONLY_SUFFIXES,
                       outcome=lambda facts: facts["verdict"]["label"])


def cmd_credentials(args: argparse.Namespace) -> int:
    from provenant.config import get_settings
    from provenant.provenance import default_credentials

    creds = default_credentials()
    ca = get_settings().credentials_dir / "ca.pem"
    info = {"signer": creds.signer_name, "development": creds.development,
            "dev_trust_anchor": str(ca) if creds.development else None}
    if args.json:
        _print_json(info)
    else:
        print(f"Signer: {info['signer']}" + (" (development credentials)" if creds.development else ""))
        if creds.development:
            print(f"Development trust anchor: {ca}\n  use: provenant verify FILE --trust-anchors {ca}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from provenant.demo import run_demo

    return run_demo(Path(args.out))


def _add_sign_args(p: argparse.ArgumentParser, default_source: str | None,
                   default_help: str) -> None:
    from provenant.manifest import SOURCE_TYPES

    p.add_argument("input", help="media file (MP4, MOV, JPEG, PNG, WebP, GIF, HEIC or AVIF)")
    p.add_argument("-o", "--output", required=True, help="where to write the signed copy")
    p.add_argument("--source-type", default=default_source, choices=SOURCE_TYPES,
                   help=f"IPTC digitalSourceType (default: {default_help})")
    p.add_argument("--title", help="manifest title (default: the output file name)")
    p.add_argument("--assertions", help="extra assertions as JSON ([{label, data}, …]) or @file")
    p.add_argument("--cert", help="your signing chain, PEM, leaf first, or one DER certificate "
                                  "(default: dev credentials)")
    p.add_argument("--key", help="the private key for --cert: EC P-256/384/521, RSA or Ed25519, "
                                 "PEM or DER (a protected key: set PROVENANT_SIGN_KEY_PASSWORD)")
    p.add_argument("--tsa-url", help="RFC 3161 timestamp authority URL")
    p.add_argument("--json", action="store_true", help="print a JSON result")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="provenant", description=(
        "Provenance for synthetic media: C2PA content credentials, invisible watermarks, "
        "and AI-video detection."))
    parser.add_argument("--version", action="version", version=f"provenant {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("sign", help="sign a file with a C2PA manifest")
    _add_sign_args(p, None, "digitalCapture; with --parent none, as the parent's manifest "
                            "says how the content was made")
    p.add_argument("--parent", help="the file this one was made from (c2pa.opened + "
                                    "c2pa.edited; default: the input, when it has a manifest)")
    p.set_defaults(handler=cmd_sign)

    p = sub.add_parser("stamp", help="watermark, sign and register a clip made elsewhere")
    _add_sign_args(p, None, "as the source's own manifest says, when it has one (it becomes "
                            "the parent); else trainedAlgorithmicMedia")
    p.set_defaults(handler=cmd_stamp)

    p = sub.add_parser("verify", help="report a file's provenance evidence and verdict")
    p.add_argument("file", nargs="+", help=FILES_HELP)
    p.add_argument("--json", action="store_true", help="print the JSON report")
    p.add_argument("--trust-anchors", help="PEM file of trusted root certificates")
    p.add_argument("--key", action="append", help="watermark key; repeat it to test several, "
                   "the current one first (default: PROVENANT_WATERMARK_KEY, then "
                   "PROVENANT_WATERMARK_RETIRED_KEYS)")
    p.add_argument("--manifest", help="the file's C2PA manifest kept outside it (a .c2pa "
                                      "fetched from the URL the file gives); a sidecar "
                                      "<name>.c2pa beside the file is read without this")
    p.add_argument("--resolver", metavar="URL", action="append",
                   help="another installation's C2PA soft-binding resolution service, asked "
                        "for a file without a manifest that nothing here recovers: the file is "
                        "UPLOADED to it, its manifest fetched and checked here (repeat it to "
                        "ask several in turn)")
    p.set_defaults(handler=cmd_verify)

    add_store_parser(sub)

    p = sub.add_parser("credentials", help="show the signing identity and the dev trust anchor")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_credentials)

    p = sub.add_parser("demo", help="the main job on built-in defaults")
    p.add_argument("--out", default="out/demo", help="folder for the demo's files")
    p.set_defaults(handler=cmd_demo)

    from provenant.plugins import cli_registrars

    for register in cli_registrars():
        register(sub)
    return parser


def _quiet_opencv() -> None:
    """No OpenCV lines about a damaged file ("[ WARN:0@5.2] global grfmt_png.cpp:792 ...")
    ahead of the error this prints in plain words (``--verbose`` keeps them)."""
    os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")  # read when OpenCV loads
    cv2 = sys.modules.get("cv2")  # already loaded by a subcommand's module
    if cv2 is not None:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Provenant's own warnings as one plain line on stderr (others as Python shows them)."""
    if issubclass(category, ProvenanceWarning):
        print(f"provenant: warning: {message}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _tolerant_output() -> None:
    """Print what a terminal's encoding cannot show as ``?`` instead of failing: reports use
    a few characters outside ASCII (an em dash, a multiplication sign), and a legacy console
    or ``PYTHONIOENCODING=ascii`` turned a whole report into an internal error."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and getattr(stream, "errors", "") == "strict":
            stream.reconfigure(errors="replace")


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the command is, so its clean-up runs as for Ctrl-C."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise _Terminated()


@contextlib.contextmanager
def _terminate_like_interrupt() -> Iterator[None]:
    """While a command runs, SIGTERM (``kill``, a job scheduler's time limit, ``docker
    stop``) unwinds it like Ctrl-C: temporary files are removed (a killed ``watermark
    embed`` left its partial ``.out.<hex>.mp4`` beside the output) and the exit status is
    143. A handler someone else installed is left alone."""
    installed = False
    try:
        if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _raise_terminated)
            installed = True
    except ValueError:  # not the main thread (main() called from a worker thread)
        pass
    try:
        yield
    finally:
        if installed:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def main(argv: list[str] | None = None) -> int:
    _tolerant_output()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.verbose:
        _quiet_opencv()
    try:
        with warnings.catch_warnings(), _terminate_like_interrupt():
            warnings.showwarning = _show_warning
            return int(args.handler(args) or 0)
    except ProvenanceError as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"provenant: error: {exc}", file=sys.stderr)
        _json_error(args, exc, exc.code, str(exc))
        return exc.exit_code
    except BrokenPipeError:  # output piped into `head` and the like
        return 0
    except OSError as exc:  # a path the user gave cannot be read or written
        if args.verbose:
            traceback.print_exc()
        message = f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")
        print(f"provenant: error: {message}", file=sys.stderr)
        _json_error(args, exc, "unreadable", message)
        return 2
    except _Terminated:
        print("provenant: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("provenant: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an internal failure: say so, keep the traceback for --verbose
        if args.verbose:
            traceback.print_exc()
        message = f"{type(exc).__name__}: {exc}"
        print(f"provenant: internal error: {message} (run with --verbose and report it)",
              file=sys.stderr)
        _json_error(args, exc, "internal", message)
        return 1


def _json_error(args: argparse.Namespace, exc: BaseException, code: str, message: str) -> None:
    """With ``--json``, the failure as ``{"error": {"code", "message"}}`` on stdout too (as
    the HTTP API answers), so a script reading stdout always gets JSON; not again where the
    command already printed the file's error object (:func:`provenant.filelist.report_each`)."""
    if getattr(args, "json", False) and not getattr(exc, "reported", False):
        print(json.dumps({"error": {"code": code, "message": message}}, indent=2))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
