"""The command line, ``python -m derivations``.

Each subcommand lives in its own module listed in :data:`SUBCOMMAND_MODULES`;
a module defines ``register(subparsers)``, which adds its parser and sets
``run=callable(args) -> int`` (the exit status) with ``set_defaults``. To
add a command, append its module here.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

SUBCOMMAND_MODULES: list[str] = [
    "derivations.commands.list_entries",
    "derivations.commands.check",
    "derivations.commands.show",
    "derivations.matrix_calculus.cli",
]

DESCRIPTION = """\
Every netlib layer and loss, restated in SymPy and differentiated.

For each registry entry (a layer such as "dense", or a loss such as "mse") the
forward map is written in SymPy from its definition on small non-square
shapes; SymPy computes the Jacobian J = d vec(Y) / d vec(a) of every input and
parameter a; the checks then prove that

  exact    the VJP we state (for Dense: G Wᵀ, Xᵀ G, column sums of G) equals
           reshape(Jᵀ vec G) symbolically, and
  numeric  netlib's backward() at random float64 inputs, with a random
           upstream gradient g, equals the lambdified Jᵀ g.

Start with:  list   |   show dense   |   check
"""

EPILOG = """\
examples:
  python -m derivations list                  what entries exist
  python -m derivations show dense            where G Wᵀ and Xᵀ G come from
  python -m derivations show softmax --latex  the same pieces as LaTeX
  python -m derivations check                 every check; exit 1 if any fails
  python -m derivations check relu mse --json machine-readable results
"""


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="python -m derivations", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.run(args))
    except BrokenPipeError:
        # Output piped into `head` and cut short: not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
