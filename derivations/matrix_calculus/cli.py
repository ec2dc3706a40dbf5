"""``python -m derivations derive``: a matrix-calculus question, answered and proved."""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import signal
import sys
import textwrap
import threading

from .derive import LAYOUTS, derive
from .emit import numpy_source
from .errors import MatrixCalculusError
from .expr import Name, to_latex, to_text
from .hessian import second_order
from .language import help_text
from .shapes import describe
from .steps import derivation_steps, format_steps

HELP = "answer d/dNAME of a matrix expression, confirmed before it is printed"

DESCRIPTION = """\
Differentiate EXPR with respect to the variable NAME.

The language (names are matrices, columns or scalars; sizes are inferred
from how names are combined, or given with --shape: x=nx1 for a column,
a=scalar for a number; vec is row-major, np.ravel's C order, as everywhere
in the project):

{language}

An expression that starts with '-' is read as an expression ('-tr(X)').

Scalar EXPR: the answer is the gradient.  In denominator layout (the
default, and the project's convention) it has NAME's shape; in numerator
layout (the layout of the project's Jacobians, J[i, j] = dy_i/dx_j) it is
its transpose.  A column EXPR of a column NAME: the answer is the Jacobian
as a matrix expression when the rules give one (d(A @ x)/dx is A in
numerator layout, A.T in denominator layout), with the VJP beside it.  Other
matrix-valued EXPR: the answer is the vector-Jacobian product (VJP) with an
upstream gradient G of EXPR's shape, J^T vec(G) reshaped to NAME's shape
(the same in both layouts), and derive says that it is a VJP.

An answer is printed only once it matched the explicit SymPy Jacobian and
central finite differences (netlib.gradcheck's, or the same rule in plain
Python where numpy is absent; the step and tolerance are derived from the
sizes of the function and of its gradient) at two random points;
otherwise derive says so and prints the elementwise result.  Sizes no
--shape fixes are left symbolic and drawn at random for each point,
distinct from one another (so shapes are non-square unless the expression
makes them square) and different at the two points; when --shape fixes
every size, both points have those sizes.
"""

EPILOG = """\
examples:
  python -m derivations derive "tr(A @ X @ B)" --wrt X
  python -m derivations derive "sum(tanh(X @ W))" --wrt W --layout numerator
  python -m derivations derive "x.T @ A @ x" --wrt x --shape x=nx1 --latex
  python -m derivations derive "softmax(Z)" --wrt Z --json
"""


def seed_type(text: str) -> int:
    """``--seed``: a non-negative integer (numpy's generators take no negative seed)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value}")
    return value


#: Arguments that start with '-' but are expressions, not options: argparse
#: takes what this matches for a positional (it is its hook for negative
#: numbers). An option is '-' and letters, digits, '-' or '_' only; an
#: expression such as '-tr(X)' or '-x.T @ x' has some other character.
_EXPRESSION_WITH_MINUS = re.compile(r"^-\d+$|^-\d*\.\d+$|^-(?!-?[A-Za-z0-9_-]*(=|$))")


def timeout_type(text: str) -> float:
    """``--timeout``: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


class QuestionTimeout(Exception):
    """The question took longer than ``--timeout``."""


def timeout_message(seconds: float) -> str:
    """What a question out of time prints (the command line and ``web.answer``)."""
    return (f"derive: no answer within {seconds:g} s (--timeout); fixed sizes "
            "(X=8x8) cost more than named ones (X=mxn), which are checked small")


#: After the time limit, the alarm repeats this often until it is heard.
RETRY_SECONDS = 0.05


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise :class:`QuestionTimeout` in the main thread after ``seconds``
    (a real-time alarm; where there is none, as in a browser, no limit)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def expire(signum, frame):
        raise QuestionTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    # The alarm repeats every RETRY_SECONDS until it is cancelled: an exception
    # raised where Python ignores it (a garbage-collector callback, a __del__)
    # is lost, and the next alarm raises it again.
    signal.setitimer(signal.ITIMER_REAL, seconds, RETRY_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def register(subparsers) -> None:
    """Add the ``derive`` subcommand."""
    parser = subparsers.add_parser(
        "derive", help=HELP, description=DESCRIPTION.format(language=help_text()),
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    # '-tr(X)' is an expression: see _EXPRESSION_WITH_MINUS ('-X' needs '-- -X').
    parser._negative_number_matcher = _EXPRESSION_WITH_MINUS
    parser.add_argument("expr", metavar="EXPR", help="the expression, e.g. 'tr(A @ X @ B)'")
    parser.add_argument("--wrt", required=True, metavar="NAME", help="the variable")
    parser.add_argument("--shape", action="append", default=[], metavar="NAME=RxC",
                        help="a shape: sizes are integers (≤ 8) or names, e.g. x=nx1, W=3x4")
    parser.add_argument("--layout", choices=LAYOUTS, default="denominator",
                        help="layout of a scalar's gradient (default: denominator, "
                             "the variable's shape)")
    parser.add_argument("--latex", action="store_true", help="print the answer as LaTeX")
    parser.add_argument("--json", action="store_true",
                        help="print answer, layout, shapes and every check as JSON")
    parser.add_argument("--seed", type=seed_type, default=0,
                        help="seed of the random checks (a non-negative integer)")
    parser.add_argument("--emit", choices=("numpy",),
                        help="print the confirmed answer as a numpy function, with the "
                             "netlib.gradcheck call that checks it")
    parser.add_argument("--steps", action="store_true",
                        help="show the derivation as a chain of named rules, each step "
                             "checked by central differences")
    parser.add_argument("--order", type=int, choices=(1, 2), default=1,
                        help="2: the Hessian of a scalar EXPR (a matrix for a column NAME, "
                             "the Hessian-vector product in a direction G for a matrix NAME)")
    parser.add_argument("--timeout", type=timeout_type, default=60.0, metavar="SECONDS",
                        help="give up on the question after this long (default: 60)")
    parser.set_defaults(run=run)


def run(args) -> int:
    """Answer; exit 0 when a closed form was confirmed, 1 when not (or out of
    time), 2 on bad input."""
    try:
        with time_limit(args.timeout):
            if args.order == 2:
                return _second_order(args)
            answer = derive(args.expr, args.wrt, args.shape, layout=args.layout, seed=args.seed)
    except QuestionTimeout:
        message = timeout_message(args.timeout)
        print(json.dumps({"error": message}) if args.json else message, file=sys.stderr)
        return 1
    except MatrixCalculusError as error:
        # Errors go to stderr (stdout carries only answers), as JSON with --json.
        shown = json.dumps({"error": str(error)}, indent=2) if args.json else str(error)
        print(shown, file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(answer.as_dict(), indent=2, ensure_ascii=False))
        return 0 if answer.confirmed else 1
    if args.emit and answer.confirmed:
        try:
            print(numpy_source(answer, answer.checked_shapes, args.seed), end="")
        except ValueError as error:
            print(str(error), file=sys.stderr)
            return 2
        return 0
    p = answer.problem
    show = to_latex if args.latex else to_text
    if p.is_scalar:
        what = f"gradient, {args.layout} layout"
    elif answer.jacobian is not None:
        what = (f"Jacobian, {args.layout} layout: "
                + ("J[i, j] = dy_i/dx_j" if args.layout == "numerator" else "J^T, x's rows"))
    else:
        what = f"VJP with upstream G of shape {describe(p.output_shape)}"
    print(f"d/d{p.wrt} of {to_text(p.expr)}   ({what})")
    print("shapes: " + ", ".join(f"{k}: {v}" for k, v in p.shapes().items()))
    if answer.confirmed and answer.jacobian is not None:
        print(f"answer: {show(answer.jacobian[args.layout == 'numerator'])}")
        print(f"VJP with upstream G: {show(answer.denominator)}")
    elif answer.confirmed:
        print(f"answer: {show(answer.answer)}")
        if not p.is_scalar:
            print("(a VJP: the Jacobian of a matrix output, or of a matrix variable, has "
                  "four indices and no matrix expression)")
    else:
        print(f"no closed form confirmed: {answer.reason}")
        if answer.elementwise is not None:
            sizes = ", ".join(f"{k}: {r}×{c}" for k, (r, c) in answer.elementwise_sizes.items())
            print(f"elementwise result at {sizes}:")
            for i in range(answer.elementwise.rows):
                print("  " + "  |  ".join(str(v) for v in answer.elementwise.row(i)))
    _print_checks(answer.checks + answer.jacobian_checks)
    if args.steps and answer.confirmed:
        steps = derivation_steps(args.expr, args.wrt, args.shape, seed=args.seed)
        print("steps (from the output down to the variable; each checked by central "
              "differences, that part held apart):")
        print("\n".join(format_steps(steps, p.wrt)))
        if sum(isinstance(s.subtree, Name) for s in steps) > 1:
            print(f"  the answer is the sum over the occurrences of {p.wrt}")
    return 0 if answer.confirmed else 1


def _second_order(args) -> int:
    """``--order 2``: the confirmed gradient, then its derivative."""
    result = second_order(args.expr, args.wrt, args.shape, seed=args.seed)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
        return 0 if result.confirmed else 1
    p, show = result.first.problem, (to_latex if args.latex else to_text)
    print(f"d²/d{p.wrt}² of {to_text(p.expr)}")
    print("shapes: " + ", ".join(f"{k}: {v}" for k, v in p.shapes().items()))
    if result.first.confirmed:
        print(f"gradient: {show(result.first.denominator)}")
    if result.confirmed and result.hessian is not None:
        n = p.env.shape_of(p.wrt)[0]
        print(f"Hessian ({n}×{n}, symmetric: the same in both layouts): "
              f"{show(result.hessian)}")
    elif result.confirmed:
        print(f"Hessian-vector product in the direction G ({describe(p.env.shape_of(p.wrt))}; "
              f"the Hessian of a matrix variable has four indices): {show(result.hvp)}")
    else:
        print(f"no second-order form confirmed: {result.reason}")
    _print_checks(result.first.checks + result.checks)
    return 0 if result.confirmed else 1


def _number(value, digits: int) -> str:
    # None is how JSON carries an infinite or NaN number (CheckRow.as_dict).
    return "inf" if value is None else f"{value:.{digits}e}"


def check_line(row) -> str:
    """One check (a ``CheckRow``, or one rebuilt from its ``as_dict``) as the
    text output prints it."""
    status = "ok  " if row.passed else "FAIL"
    error = _number(row.error, 1)
    if row.check.startswith("finite differences"):
        measured = f"worst entry's error {error} (derived tolerance {_number(row.tolerance, 1)})"
    elif row.measure == "absolute":  # an exact reference that is zero up to rounding
        measured = f"largest entry {error} (tolerance {_number(row.tolerance, 0)})"
    else:
        measured = f"relative error {error} (tolerance {_number(row.tolerance, 0)})"
    where = (f"{row.check}, {row.shapes}" if row.check.endswith("sizes asked")
             else f"{row.check} at {row.shapes}")
    return f"  {status} {where}: {measured}"


def check_lines(checks) -> list[str]:
    """The checks as the text output prints them: :func:`check_line` each, and
    its hint under it (the browser page prints them with this too)."""
    lines = []
    for check in checks:
        lines.append(check_line(check))
        if check.hint:
            lines += textwrap.wrap(f"hint: {check.hint}", 76, initial_indent="       ",
                                   subsequent_indent="       ")
    return lines


def _print_checks(checks) -> None:
    for line in check_lines(checks):
        print(line)
