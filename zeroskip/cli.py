"""The ``zeroskip`` command line: a parser assembled from the command modules
(:mod:`zeroskip.commands`) and one place that turns every expected error into one line and
an exit status."""

import argparse
import sys

from .commands import COMMANDS
from .commands.options import EXIT_FAILED, EXIT_USAGE, UsageError
from .config import ConfigError
from .files import OutputError

__all__ = ["main", "build_parser"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


def build_parser():
    parser = _Parser(prog="zeroskip", description="Generate, simulate and check sparse "
                     "systolic-array GEMM accelerators.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for command in COMMANDS:
        command.add_arguments(sub.add_parser(command.NAME, help=command.HELP,
                                             description=command.DESCRIPTION))
    return parser


def main(argv=None):
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as e:
        print(f"{e}", file=sys.stderr)
        return EXIT_USAGE
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    run = {command.NAME: command.run for command in COMMANDS}[args.command]
    try:
        return run(args)
    except UsageError as e:
        print(f"{e}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as e:
        print(f"zeroskip: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except OutputError as e:
        print(f"zeroskip {args.command}: {e}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:
        # A path the command needs (a build folder, a cache) turned out unusable midway.
        where = f"{e.filename!r}: " if e.filename else ""
        print(f"zeroskip {args.command}: cannot use {where}{e.strerror or e}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
