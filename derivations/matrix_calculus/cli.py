"""``python -m derivations derive``: a matrix-calculus question, answered and proved."""

from __future__ import annotations

import argparse
import json
import textwrap

from .derive import LAYOUTS, derive
from .errors import MatrixCalculusError
from .expr import to_latex, to_text
from .functions import FUNCTIONS
from .shapes import describe

HELP = "answer d/dNAME of a matrix expression, confirmed before it is printed"

DESCRIPTION = """\
Differentiate EXPR with respect to the variable NAME.

The language: names (matrices, column vectors, scalars), numbers, @ (matrix
product), * and / (elementwise, broadcasting a scalar, a column or a row),
+, -, .T, and the functions:
{functions}.
Row-wise: softmax, log_softmax, logsumexp.  vec flattens row by row
(np.ravel's C order, as everywhere in the project); vec_columns stacks the
columns (the Matrix Cookbook's vec); unvec_like and unvec_columns_like undo
them.  A name is a matrix of unknown size unless --shape says otherwise
(x=nx1 for a column, a=scalar for a number); sizes are inferred from how
names are combined.

Scalar EXPR: the answer is the gradient.  In denominator layout (the
default, and the project's convention) it has NAME's shape; in numerator
layout (the layout of the project's Jacobians, J[i, j] = dy_i/dx_j) it is
its transpose.  Matrix-valued EXPR: the answer is the
vector-Jacobian product with an upstream gradient G of EXPR's shape,
J^T vec(G) reshaped to NAME's shape (the same in both layouts).

An answer is printed only once it matched the explicit SymPy Jacobian and
central finite differences (netlib.gradcheck, whose step and tolerance are
derived from the sizes of the function and of its gradient) at two random
points; otherwise derive says so
and prints the elementwise result.  Sizes no --shape fixes are left symbolic
and drawn at random for each point, distinct from one another (so shapes are
non-square unless the expression makes them square) and different at the two
points; when --shape fixes every size, both points have those sizes.
"""

EPILOG = """\
examples:
  python -m derivations derive "tr(A @ X @ B)" --wrt X
  python -m derivations derive "sum(tanh(X @ W))" --wrt W --layout numerator
  python -m derivations derive "x.T @ A @ x" --wrt x --shape x=nx1 --latex
  python -m derivations derive "softmax(Z)" --wrt Z --json
"""


def register(subparsers) -> None:
    """Add the ``derive`` subcommand."""
    parser = subparsers.add_parser(
        "derive", help=HELP, description=DESCRIPTION.format(
            functions=textwrap.fill(", ".join(FUNCTIONS), 76, initial_indent="  ",
                                    subsequent_indent="  ")),
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    parser.add_argument("--seed", type=int, default=0, help="seed of the random checks")
    parser.set_defaults(run=run)


def run(args) -> int:
    """Answer; exit 0 when a closed form was confirmed, 1 when not, 2 on bad input."""
    try:
        answer = derive(args.expr, args.wrt, args.shape, layout=args.layout, seed=args.seed)
    except MatrixCalculusError as error:
        if args.json:
            print(json.dumps({"error": str(error)}, indent=2))
        else:
            print(str(error))
        return 2
    if args.json:
        print(json.dumps(answer.as_dict(), indent=2, ensure_ascii=False))
        return 0 if answer.confirmed else 1
    p = answer.problem
    what = (f"gradient, {args.layout} layout" if p.is_scalar
            else f"VJP with upstream G of shape {describe(p.output_shape)}")
    print(f"d/d{p.wrt} of {to_text(p.expr)}   ({what})")
    print("shapes: " + ", ".join(f"{k}: {v}" for k, v in p.shapes().items()))
    if answer.confirmed:
        shown = to_latex(answer.answer) if args.latex else to_text(answer.answer)
        print(f"answer: {shown}")
    else:
        print(f"no closed form confirmed: {answer.reason}")
        if answer.elementwise is not None:
            sizes = ", ".join(f"{k}: {r}×{c}" for k, (r, c) in answer.elementwise_sizes.items())
            print(f"elementwise result at {sizes}:")
            for i in range(answer.elementwise.rows):
                print("  " + "  |  ".join(str(v) for v in answer.elementwise.row(i)))
    for check in answer.confirmations:
        sizes = ", ".join(f"{k} {r}×{c}" for k, (r, c) in check.sizes.items())
        status = "ok  " if check.passed else "FAIL"
        if check.measure == "absolute":
            measured = (f"worst entry's error {check.error:.1e} "
                        f"(derived tolerance {check.tolerance:.1e})")
        else:
            measured = f"relative error {check.error:.1e} (tolerance {check.tolerance:.0e})"
        print(f"  {status} {check.method} at {sizes}: {measured}")
        if check.hint:
            print(textwrap.fill(f"hint: {check.hint}", 76, initial_indent="       ",
                                subsequent_indent="       "))
    return 0 if answer.confirmed else 1
