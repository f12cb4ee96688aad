"""Command-line interface: thin. Parse, call the library, print.

Each sub-command lives in its own module exposing ``add_parser(subparsers)`` (which sets
``func`` on its parser) so that commands can be added without touching the others.
Machine-readable output goes to stdout with ``--json``; progress and logs go to stderr.
Exit codes: 0 success (even when some inputs failed to load), 2 usage error, 3 nothing scored.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__

#: Sub-command modules, in the order ``--help`` lists them.
COMMANDS = ("evaluate", "list", "weights", "reference", "demo")

EXIT_OK, EXIT_USAGE, EXIT_NOTHING_SCORED = 0, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anatscore",
        description="Score the anatomical plausibility and realism of generated medical images.",
    )
    parser.add_argument("--version", action="version", version=f"anatscore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return int(args.func(args) or 0)
