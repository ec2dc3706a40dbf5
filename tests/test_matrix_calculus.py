"""``derive``: the reference identities, wrong answers rejected, errors, CLI."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derivations.cli import main
from derivations.matrix_calculus import (
    MatrixCalculusError,
    ParseError,
    ShapeError,
    confirm,
    derive,
)
from derivations.matrix_calculus.backend import get_backend
from derivations.matrix_calculus.derive import candidate_value
from derivations.matrix_calculus.evaluate import to_sympy
from derivations.matrix_calculus.expr import Binary, Call, Neg, Num, Transpose, to_text
from derivations.matrix_calculus.identities import IDENTITIES, check_identity
from derivations.matrix_calculus.numeric import to_numpy
from derivations.matrix_calculus.parser import parse
from derivations.matrix_calculus.pure import Mat
from derivations.matrix_calculus.rand import Random
from derivations.matrix_calculus.shapes import sample_sizes


def test_at_least_forty_identities_with_sources():
    assert len(IDENTITIES) >= 40, f"only {len(IDENTITIES)} reference identities"
    assert all(identity.source for identity in IDENTITIES)


@pytest.mark.parametrize("identity", IDENTITIES, ids=lambda i: f"{i.expression}|d{i.wrt}")
def test_identity_derived_and_stated_answers_are_confirmed(identity):
    result = check_identity(identity)
    report = "\n".join(
        f"  {who}: {c.check} at {c.shapes}: {c.measure} error {c.error:.2e} "
        f"(tolerance {c.tolerance:.1e})"
        for who, checks in (("derived", result.derived_checks), ("stated", result.stated_checks))
        for c in checks if not c.passed)
    assert result.passed, (
        f"{identity.expression} d/d{identity.wrt}\n  derived: {to_text(result.derived)}\n"
        f"  stated ({identity.source}): {identity.stated}\n{report}")
    # Two sizes, each with a Jacobian and a finite-difference check (and, for a
    # scalar, the numerator-layout transpose check).
    per_size = 3 if result.problem.is_scalar else 2
    assert len(result.derived_checks) == 2 * per_size
    sizes = {c.shapes for c in result.derived_checks}
    free = result.problem.env.free_sizes(
        [result.problem.env.shape_of(n) for n in result.problem.env.variables])
    if free:
        assert len(sizes) == 2, f"the two checks used the same sizes: {sizes}"


# A catalogue of wrong rules: each gives answers of the right shape (B below is
# square, so G @ B fits where G @ B.T does), so only the values can betray
# them: every error is finite (a wrong shape would give inf) and too large.
WRONG_RULES = [
    ("missing transpose in G @ B.T", "sum(tanh(X @ B))", "X", ("B=nxn",),
     {"@": (lambda a, b, G: Binary("@", G, b), lambda a, b, G: Binary("@", Transpose(a), G))}),
    ("tanh' taken as 1 - tanh", "sum(tanh(X @ W))", "W", (),
     {"tanh": lambda node, i, G: Binary("*", G, Binary("-", Num(1), node))}),
    ("softmax VJP without the rowsum term", "softmax(Z)", "Z", (),
     {"softmax": lambda node, i, G: Binary("*", G, node)}),
    ("det rule without the transpose", "det(X)", "X", (),
     {"det": lambda node, i, G: Binary("*", Binary("*", G, node), Call("inv", node.args))}),
    ("logsumexp VJP without normalising", "sum(logsumexp(Z))", "Z", (),
     {"logsumexp": lambda node, i, G: Binary("*", G, Call("exp", node.args))}),
    ("inverse VJP with the wrong sign", "tr(A @ inv(X))", "X", (),
     {"inv": lambda node, i, G: Binary("@", Binary("@", Transpose(node), G), Transpose(node))}),
]


@pytest.mark.parametrize("label, text, wrt, shapes, overrides", WRONG_RULES,
                         ids=[w[0] for w in WRONG_RULES])
def test_wrong_rule_is_rejected_by_both_references(label, text, wrt, shapes, overrides):
    right = derive(text, wrt, shapes, elementwise=False)
    assert right.confirmed, f"{text}: the correct rules were not confirmed: {right.reason}"
    wrong = derive(text, wrt, shapes, overrides=overrides, elementwise=False)
    assert not wrong.confirmed and wrong.answer is None, (
        f"{label}: wrong rule accepted for {text}")
    for method in ("explicit Jacobian", "finite differences"):
        checks = [c for c in wrong.checks if c.check == method]
        errors = [c.error for c in checks]
        assert len(checks) == 2, f"{label}: {len(checks)} {method} checks, expected 2"
        assert all(np.isfinite(c.error) and c.error > c.tolerance for c in checks), (
            f"{label}: {method} did not reject it by value (errors {errors})")


def test_wrong_candidate_answer_is_rejected():
    # SymPy's MatrixSymbol calculus answers 0 for softmax cross-entropy in
    # log-sum-exp form; a sign flip is the other classic slip.
    text = "sum(logsumexp(X @ W) - rowsum(Y * (X @ W)))"
    for candidate in (Num(0.0), Neg(parse("X.T @ (softmax(X @ W) - Y)"))):
        answer = derive(text, "W", candidate=candidate, elementwise=False)
        assert not answer.confirmed, f"accepted wrong candidate {to_text(candidate)}"
        assert max(c.error for c in answer.checks) > 1e-3
    assert derive(text, "W", candidate=parse("X.T @ (softmax(X @ W) - Y)")).confirmed


def test_layouts_are_transposes_for_a_scalar():
    denominator = derive("tr(A @ X @ B)", "X")
    numerator = derive("tr(A @ X @ B)", "X", layout="numerator")
    assert to_text(denominator.answer) == "A.T @ B.T"
    assert to_text(numerator.answer) == "B @ A"
    rng = np.random.default_rng(1)
    values = {"A": rng.standard_normal((2, 3)), "B": rng.standard_normal((4, 2))}
    den, num = to_numpy(denominator.answer, values), to_numpy(numerator.answer, values)
    np.testing.assert_allclose(num, den.T, rtol=1e-14,
                               err_msg=f"numerator:\n{num}\ndenominator.T:\n{den.T}")


def test_no_closed_form_prints_the_elementwise_result():
    answer = derive("sum(kron(A, X))", "X", ["A=2x3", "X=2x2"])
    assert not answer.confirmed and answer.answer is None
    assert "no closed-form rule" in answer.reason
    assert answer.elementwise.shape == (2, 2)
    payload = answer.as_dict()
    assert payload["answer"] is None and len(payload["elementwise"]) == 2


def _fd_checks(answer):
    return [c for c in answer.checks if c.check == "finite differences"]


def test_large_constant_is_confirmed_with_a_tolerance_that_scales():
    # A fixed tolerance rejected 2X here: the constant 1e6 makes the rounding
    # error of each difference a million times larger; the derived tolerance
    # grows with F = sum|g f|, so the right answer passes and a wrong one fails.
    shifted = derive("sum(X * X) + 1e6", "X", elementwise=False)
    plain = derive("sum(X * X)", "X", elementwise=False)
    assert shifted.confirmed, shifted.reason
    assert to_text(shifted.answer) == "2 * X"
    assert min(c.tolerance for c in _fd_checks(shifted)) > (
        1e3 * max(c.tolerance for c in _fd_checks(plain))), "the tolerance did not scale"


def test_kron_of_kron_plus_sum_is_confirmed():
    answer = derive("sum(kron(kron(A, B), C)) + sum(X)", "X", elementwise=False)
    assert answer.confirmed, answer.reason
    assert to_text(answer.answer) == "ones_like(X)"


@pytest.mark.parametrize("text, candidate, hint", [
    ("sum(X * X) + 1e6", "X", ""),                  # the factor 2 missing
    ("sum(X * X)", "X", "0.5 × numeric"),
    ("sum(X * X)", "-2 * X", ""),                   # a sign
    ("tr(A @ X @ B)", "B @ A", "transpose"),        # the numerator layout, X non-square
])
def test_wrong_candidate_is_rejected_by_finite_differences(text, candidate, hint):
    answer = derive(text, "X", candidate=parse(candidate), elementwise=False)
    assert not answer.confirmed
    checks = _fd_checks(answer)
    assert len(checks) == 2 and all(not c.passed and c.margin > 1 for c in checks), (
        [(c.error, c.tolerance) for c in checks])
    assert all(hint in c.hint for c in checks), [c.hint for c in checks]


@pytest.mark.parametrize("backend", ["numpy", "python"])
def test_transposed_gradient_fails_the_finite_difference_check_with_its_hint(backend):
    engine, rng = get_backend(backend), Random(3)
    values = {"A": Mat.of(rng.standard_normal((4, 2))), "X": Mat.of(rng.standard_normal((2, 3))),
              "B": Mat.of(rng.standard_normal((3, 4)))}
    problem = derive("tr(A @ X @ B)", "X", elementwise=False).problem
    for text, passes in (("A.T @ B.T", True), ("B @ A", False)):
        candidate = parse(text)
        row = confirm.finite_difference_row(
            problem.expr, "X", values,
            lambda g, point, c=candidate: candidate_value(problem, c, point, g, backend=engine),
            rng, engine, ("tr(A @ X @ B)", "X", "A 4×2, X 2×3, B 3×4"))
        assert row.passed is passes, (text, row)
    assert "transpose" in row.hint, row.hint


def test_vec_is_row_major_and_vec_columns_stacks_columns():
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    for fn, expected in (("vec", [1, 2, 3, 4]), ("vec_columns", [1, 3, 2, 4])):
        np.testing.assert_array_equal(to_numpy(parse(f"{fn}(X)"), {"X": X}),
                                      np.array(expected, dtype=float).reshape(-1, 1))
        explicit = to_sympy(parse(f"{fn}(X)"), {"X": sympy.Matrix(X.tolist())})
        assert [float(v) for v in explicit] == expected and explicit.shape == (4, 1)
    assert to_numpy(parse("vec(X)"), {"X": X}).ravel().tolist() == X.ravel().tolist()


PACKAGE = Path(__file__).resolve().parents[1] / "derivations" / "matrix_calculus"


def _package_imports() -> dict:
    """module -> [(imported sibling module, names taken from it)], every import
    of the package by its own modules, at any depth of the code."""
    modules = {path.stem: ast.parse(path.read_text()) for path in PACKAGE.glob("*.py")}
    edges: dict = {name: [] for name in modules}
    for name, tree in modules.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            absolute = (node.module or "").startswith("derivations.matrix_calculus")
            if node.level == 1 and node.module:      # from .shapes import infer
                edges[name].append((node.module, [a.name for a in node.names]))
            elif node.level == 1 or absolute:        # from . import confirm
                target = (node.module or "").rpartition(".")[2] if absolute else ""
                if target and target != "matrix_calculus":
                    edges[name].append((target, [a.name for a in node.names]))
                else:
                    edges[name] += [(a.name, []) for a in node.names if a.name in modules]
    return edges


def test_package_imports_no_private_names_across_modules():
    private = [(m, target, n) for m, imports in _package_imports().items()
               for target, names in imports for n in names if n.startswith("_")]
    assert not private, f"private names imported across modules: {private}"


def test_package_imports_have_no_cycle():
    edges = _package_imports()
    graph = {m: {t for t, _ in imports if t != "__init__"} for m, imports in edges.items()
             if m != "__init__"}
    state: dict = {}

    def visit(module, path):
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            assert state.get(target) != "open", "import cycle: " + " → ".join(
                [*path, module, target])
            if target not in state:
                visit(target, [*path, module])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    assert {"functions", "shapes"} <= graph.keys() and "shapes" not in graph["functions"]


@pytest.mark.parametrize("text, column, words", [
    ("X ^ 2", 3, "'^'"),
    ("X ** Y", 6, "must be a number"),
    ("matrix_power(X, 1.5)", 17, "integer"),
    ("X.shape", 3, ".T (transpose)"),
    ("tr(X) + foo(X)", 9, "unknown function 'foo'"),
    ("softmax(X, 1)", 1, "takes 1 argument"),
    ("X @", 4, "not a valid expression"),
    ("__import__('os')", 1, "unknown function"),
    ("X[0]", 1, "indexing"),
    ("G @ X", 1, "reserved"),
    ("A if B else C", 1, "'if'"),
])
def test_parse_errors_point_at_the_token(text, column, words):
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert caught.value.column == column, f"{text!r}: column {caught.value.column} != {column}"
    assert words in str(caught.value), str(caught.value)


@pytest.mark.parametrize("text, wrt, shapes, words", [
    ("A @ B", "A", ["A=2x3", "B=2x3"], "shape mismatch"),
    ("A + B", "A", ["A=2x3", "B=3x2"], "shape mismatch"),
    ("tr(A)", "A", ["A=2x3"], "square"),
    ("tr(A)", "B", [], "does not occur"),
    ("tr(A)", "A", ["A=20x20"], "between 1 and 8"),
    ("sum(kron(kron(kron(A, A), A), A))", "A", ["A=8x8"], "budget"),
    ("tr(A)", "A", ["A=3by3"], "NAME=RxC"),
    # Sizes that only a product could match cannot be inferred: ask for them.
    ("a.T @ kron(B.T, A) @ vec(X)", "X", [], "give the shapes with --shape"),
])
def test_shape_and_question_errors_are_clear(text, wrt, shapes, words):
    with pytest.raises(MatrixCalculusError) as caught:
        derive(text, wrt, shapes)
    assert words in str(caught.value), str(caught.value)
    if "mismatch" in words or "square" in words or "--shape" in words:
        assert isinstance(caught.value, ShapeError)


def test_cli_json_answer_parses_again(capsys):
    status = main(["derive", "softmax(Z)", "--wrt", "Z", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert status == 0 and payload["confirmed"] and payload["kind"] == "vjp"
    assert to_text(parse(payload["answer"], upstream=True)) == payload["answer"]
    assert {c["check"] for c in payload["checks"]} == {"explicit Jacobian", "finite differences"}
    assert all(c["passed"] and c["error"] <= c["tolerance"] for c in payload["checks"])


def test_cli_text_and_bad_input(capsys):
    assert main(["derive", "x.T @ A @ x", "--wrt", "x", "--shape", "x=nx1"]) == 0
    out = capsys.readouterr().out
    assert "answer: (A + A.T) @ x" in out and "FAIL" not in out
    assert main(["derive", "X ^ 2", "--wrt", "X"]) == 2
    captured = capsys.readouterr()
    assert "column 3" in captured.err and captured.out == ""


def test_cli_usage_errors_and_a_leading_minus(capsys):
    # A negative seed is a usage error (argparse's exit 2), not a traceback.
    with pytest.raises(SystemExit) as caught:
        main(["derive", "tr(X)", "--wrt", "X", "--seed", "-1"])
    assert caught.value.code == 2 and "non-negative" in capsys.readouterr().err
    # An expression that starts with '-' is an expression, not an option.
    assert main(["derive", "-tr(X)", "--wrt", "X"]) == 0
    assert "answer: -eye_like(X)" in capsys.readouterr().out
    assert main(["derive", "tr(Y)", "--wrt", "X", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "does not occur" in json.loads(captured.err)["error"]


# The language of issue 16: each question with the answer derive must confirm
# (denominator layout) and print in its simplest form.
LANGUAGE = [
    ("sum(X ** 2)", "X", (), "2 * X"),
    ("sum(X ** -1)", "X", (), "-X ** -2"),
    ("tr(matrix_power(X, 3))", "X", (), "3 * matrix_power(X.T, 2)"),
    ("sum(diag(x) @ A)", "x", ("x=nx1",), "diag(ones_like(A) @ A.T)"),
    ("sum(diag(X) * a)", "X", ("a=nx1",), "diag(a)"),
    ("logdet(X)", "X", (), "inv(X).T"),
    ("sum(abs(X @ W))", "W", (), "X.T @ sign(X @ W)"),
    ("sum(relu(X))", "X", (), "step(X)"),
    ("norm1(A @ x)", "x", ("x=nx1",), "A.T @ sign(A @ x)"),
    ("sum(adj(X) * A)", "X", (),
     "det(X) * (sum(A * inv(X)) * inv(X).T - inv(X).T @ A @ inv(X).T)"),
    ("sum(A / X)", "X", (), "-(A / X ** 2)"),
    ("x.T @ ones", "x", ("x=nx1",), "ones"),
    ("tr(X + 2 * eye)", "X", (), "eye_like(X)"),
    ("-tr(X)", "X", (), "-eye_like(X)"),
    ("sum(sign(X) * X)", "X", (), "sign(X)"),
    # simplest form: like terms, no division by the softmax, no ones_like(sum)
    ("tr(inv(X.T @ X))", "X", (), "-2 * (X @ inv(matrix_power(X.T @ X, 2)))"),
    ("sum(Y * log(softmax(Z)))", "Z", (), "Y - softmax(Z) * rowsum(Y)"),
    ("sum(tanh(X @ W))", "W", (), "X.T @ (1 - tanh(X @ W) ** 2)"),
    ("sum(1 / X)", "X", (), "-(1 / X ** 2)"),
    # inverses cancel, scalar factors leave matrix products (issue 14's examples)
    ("det(inv(X))", "X", (), "-(det(inv(X)) * inv(X).T)"),
    ("logdet(inv(X))", "X", (), "-inv(X).T"),
    ("tr(A @ inv(inv(X)))", "X", (), "A.T"),
    # a factor that also divides cancels; sign(y) * y is abs(y)
    ("norm2(x) ** 2", "x", ("x=nx1",), "2 * x"),
    ("log(abs(det(X)))", "X", (), "inv(X).T"),
    # Powers of one matrix meet, an inverse being a negative power: the k
    # terms of d det(X^k) are one, and d tr(X^-1) is -(X^-2)^T.
    ("det(X @ X @ X)", "X", (), "3 * (det(matrix_power(X, 3)) * inv(X).T)"),
    ("tr(inv(X))", "X", (), "-inv(matrix_power(X, 2)).T"),
    # Terms sharing their outer factors meet: (A + Aᵀ) x, and the Cookbook's
    # (125) with its (A + Aᵀ); Xᵀ (D + Dᵀ) X is symmetric, so no (..)⁻ᵀ.
    ("x.T @ A @ x", "x", ("x=nx1",), "(A + A.T) @ x"),
    ("tr(inv(X.T @ (D + D.T) @ X) @ A)", "X", ("X=mxn",),
     "-((D + D.T) @ X @ inv(X.T @ (D + D.T) @ X) @ (A + A.T) @ inv(X.T @ (D + D.T) @ X))"),
    # No shapes given: the points avoid the answer's pole too, so X is drawn
    # with more rows than columns (XᵀAX is singular otherwise).
    ("det(X.T @ A @ X)", "X", (),
     "det(X.T @ A @ X) * (A @ X @ inv(X.T @ A @ X))"
     " + det(X.T @ A @ X) * (A.T @ X @ inv(X.T @ A @ X).T)"),
    # Square factors: the inverse of their product is taken apart when that
    # prints shorter, as the Cookbook's (51) and (52) print it.
    ("det(A @ X @ B)", "X", ("A=nxn", "B=nxn"), "det(A @ X @ B) * inv(X).T"),
    ("det(X.T @ A @ X)", "X", ("X=nxn", "A=nxn"), "2 * (det(X.T @ A @ X) * inv(X).T)"),
    # x / ‖x‖ of a number is its sign, and xᵀx > 0 wherever ‖xᵀx‖ is differentiable.
    ("norm2(x.T @ x)", "x", ("x=nx1",), "2 * x"),
]


@pytest.mark.parametrize("text, wrt, shapes, expected", LANGUAGE,
                         ids=[f"{c[0]}|d{c[1]}" for c in LANGUAGE])
def test_language_answers_are_confirmed_in_simplest_form(text, wrt, shapes, expected):
    answer = derive(text, wrt, shapes, elementwise=False)
    assert answer.confirmed, f"{text}: {answer.reason}"
    assert to_text(answer.answer) == expected
    assert to_text(parse(to_text(answer.answer), upstream=True)) == expected


def _assert_matches_finite_differences(answer, seed):
    """The confirmed (denominator-layout) answer against netlib's finite-difference
    check at sizes, point and upstream drawn from ``seed``, not from derive's own."""
    problem, env = answer.problem, answer.problem.env
    rng, backend = Random(seed), get_backend("numpy")
    free = env.free_sizes([*(env.shape_of(n) for n in env.variables), problem.output_shape])
    sizes = sample_sizes(free, rng)
    concrete = {n: env.concrete(env.shape_of(n), sizes) for n in env.variables if n != "G"}
    try:
        values = confirm.sample_point(problem.expr, concrete, rng, backend)
    except confirm.DomainError:
        return  # no finite point at this seed: nothing to compare
    row = confirm.finite_difference_row(
        problem.expr, problem.wrt, values,
        lambda g, point: candidate_value(problem, answer.denominator, point, g), rng, backend,
        (to_text(problem.expr), problem.wrt, confirm.shape_text(concrete)))
    assert row.passed, (
        f"{to_text(problem.expr)}: confirmed answer {to_text(answer.denominator)} is off "
        f"netlib's central differences at {concrete}: error {row.error:.2e}, "
        f"derived tolerance {row.tolerance:.2e}, hint {row.hint!r}")


_LEAVES = st.sampled_from(["X", "X", "W", "a", "1", "2.5"])
_UNARY = ["tr", "sum", "exp", "tanh", "sigmoid", "softmax", "logsumexp", "inv", "det",
          "norm2", "rowsum", "vec", "log"]


def _extend(children):
    pair = st.tuples(children, children, st.sampled_from(["@", "*", "+", "-", "/"]))
    return st.one_of(
        pair.map(lambda p: f"({p[0]} {p[2]} {p[1]})"),
        children.map(lambda c: f"{c}.T"),
        st.tuples(st.sampled_from(_UNARY), children).map(lambda p: f"{p[0]}({p[1]})"),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.recursive(_LEAVES, _extend, max_leaves=5))
def test_derive_on_random_expressions_answers_or_explains(text):
    try:
        answer = derive(text, "X")
    except MatrixCalculusError as error:
        assert str(error).startswith("derive:"), str(error)
        return
    # Confirmed: the answer also matches central differences at a point (and
    # sizes) of another seed; not confirmed: a reason is given.
    if answer.confirmed:
        _assert_matches_finite_differences(answer, seed=12345)
        assert to_text(parse(to_text(answer.answer), upstream=True)) == to_text(answer.answer)
    else:
        assert answer.reason.startswith("derive:"), answer.reason
