"""Subcommand dispatch shared by the binaries.

Each subcommand names the function that implements it as "module:function"; the
module is imported only when the subcommand runs, so a binary built without a
component still starts and says clearly what it lacks. The function takes the
remaining argv and returns the exit code (it owns its own argparse parser, so
`<binary> <command> --help` is the command's real usage).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gps_denied_onboard import __version__

EXIT_USAGE = 2
EXIT_NOT_AVAILABLE = 3


@dataclass(frozen=True)
class Command:
    """A subcommand: its name, one-line help, the implementing "module:function",
    and the issue that owns it while it is not built yet."""

    name: str
    help: str
    target: str
    owner: str = ""


def _resolve(target: str) -> Callable[[list[str]], int] | None:
    module_name, _, func_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only "this module is absent" means not built; a missing dependency inside it is a bug.
        if exc.name is not None and module_name.startswith(exc.name):
            return None
        raise
    func = getattr(module, func_name, None)
    return func if callable(func) else None


def run_cli(prog: str, description: str, commands: Sequence[Command], argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, dispatch to the subcommand, return its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"Run '{prog} COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"{prog} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for entry in commands:
        sub.add_parser(entry.name, help=entry.help, add_help=False)
    if not args or args[0] in ("-h", "--help") or args[0] == "--version":
        parser.parse_args(args or ["--help"])
        return 0
    by_name = {c.name: c for c in commands}
    name, rest = args[0], args[1:]
    command = by_name.get(name)
    if command is None:
        parser.print_usage(sys.stderr)
        print(f"{prog}: error: unknown command {name!r} (choose from {', '.join(by_name)})", file=sys.stderr)
        return EXIT_USAGE
    func = _resolve(command.target)
    if func is None:
        owner = f" ({command.owner})" if command.owner else ""
        print(f"{prog} {name}: not implemented yet{owner}", file=sys.stderr)
        return EXIT_NOT_AVAILABLE
    return int(func(rest) or 0)
