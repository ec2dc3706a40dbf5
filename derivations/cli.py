"""The command line, ``python -m derivations``.

Each subcommand lives in its own module listed in :data:`SUBCOMMAND_MODULES`;
a module defines ``register(subparsers)``, which adds its parser and sets
``run=callable(args) -> int`` (the exit status) with ``set_defaults``. To
add a command, append its module here.

Mistakes on the command line are reported on stderr with exit status 2
(argparse does the same for its own): stdout carries only results, so that
``check --json`` and pipes stay clean. Entry names are checked here, once,
for every command that takes them, with a suggestion for a near miss.
"""

from __future__ import annotations

import argparse
import difflib
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


#: The argument of each command that holds registry entry names (str or list).
ENTRY_ARGUMENTS = {"show": "name", "check": "names"}

INSTALL_HINT = "pip install 'netlib[derive]'"


def missing_sympy_message() -> str | None:
    """Why the command line cannot run without SymPy, or ``None`` when SymPy imports.

    netlib itself runs without SymPy; the derivations are the optional part,
    installed with the ``derive`` extra.
    """
    try:
        import sympy  # noqa: F401
    except ImportError as error:
        return (f"python -m derivations: SymPy is needed and could not be imported "
                f"({error}); install it with: {INSTALL_HINT}")
    return None


def suggest(name: str, known) -> list[str]:
    """Entry names ``name`` was probably meant to be: case, netlib class, spelling.

    ``Dense`` is the class; the entry is ``dense``. The entries describing a
    netlib class of that name come first, then close spellings.
    """
    from derivations.registry import REGISTRY

    known = list(known)
    folded = name.lower()
    exact = [entry for entry in known if entry.lower() == folded]
    by_class = [entry for entry in known
                if REGISTRY[entry].netlib_class.__name__.lower() == folded]
    close = difflib.get_close_matches(folded, known, n=3, cutoff=0.6)
    return list(dict.fromkeys(exact + by_class + close))


def unknown_entries_message(command: str, names: list[str]) -> str | None:
    """The error for entry names the registry does not hold, or ``None``."""
    from derivations.registry import REGISTRY

    unknown = [name for name in names if name not in REGISTRY]
    if not unknown:
        return None
    lines = []
    for name in unknown:
        guesses = suggest(name, REGISTRY)
        maybe = (f"; did you mean {' or '.join(repr(g) for g in guesses)}?" if guesses
                 else "")
        lines.append(f"{command}: no entry named {name!r}{maybe}")
    lines.append(f"Entry names are lowercase; known entries: {', '.join(REGISTRY)} "
                 f"(python -m derivations list describes them)")
    return "\n".join(lines)


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
    problem = missing_sympy_message()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)       # no command: a usage error
        return 2
    entry_argument = ENTRY_ARGUMENTS.get(args.command)
    if entry_argument is not None:
        given = getattr(args, entry_argument)
        problem = unknown_entries_message(args.command,
                                          [given] if isinstance(given, str) else given)
        if problem:
            print(problem, file=sys.stderr)
            return 2
    try:
        return int(args.run(args))
    except BrokenPipeError:
        # Output piped into `head` and cut short: not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
