"""``python -m generator …``: the generator's commands (``generate``, ``train generator``,
``eval generator``) without the rest of the ``provenant`` CLI.

Training needs only torch, numpy, opencv, safetensors and tqdm, so a GPU host that has those
can train from a plain checkout, without installing Provenant (whose CLI discovers its
components through installed entry points)::

    python -m generator train generator --out runs/g --workers 12 ...
"""

from __future__ import annotations

import argparse
import sys

from generator.cli import register
from provenant.errors import ProvenanceError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m generator",
                                     description="Provenant's text-to-video generator.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    register(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except ProvenanceError as exc:
        print(f"generator: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("generator: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
