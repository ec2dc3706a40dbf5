"""The reference identities: each with its source, checked through ``derive``.

Every entry is a question (expression, variable, shapes) and the answer a
published source states, written in the matrix language in denominator
layout (the gradient has the variable's shape).  :func:`check_identity`
asks ``derive`` the question and confirms *both* ``derive``'s own answer and
the stated one against the explicit Jacobian and central differences, at the
same random sizes and points.  The reference page and the tests iterate
over :data:`IDENTITIES`.

Sources:

- *Cookbook*: K. B. Petersen and M. S. Pedersen, *The Matrix Cookbook*,
  version of November 15, 2012: its chapter 2 in ``cookbook.py`` (where the
  equation numbers' verification is recorded), its §10.2 here.
- *PRML*: C. M. Bishop, *Pattern Recognition and Machine Learning*, 2006.
- *Boyd*: S. Boyd and L. Vandenberghe, *Convex Optimization*, 2004.
- *Giles*: M. B. Giles, "An extended collection of matrix derivative results
  for forward and reverse mode algorithmic differentiation", 2008.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np

from .cookbook import COOKBOOK
from .derive import Problem, confirm_candidates, prepare
from .expr import Name, Node, Num
from .parser import parse
from .simplify import simplify
from .vjp import candidate_vjp, transpose_of

__all__ = ["IDENTITIES", "Identity", "IdentityResult", "check_identity"]


@dataclass(frozen=True)
class Identity:
    """One reference identity."""

    topic: str
    expression: str
    wrt: str
    stated: str  # the source's answer, denominator layout (VJP in G if matrix-valued)
    source: str
    shapes: tuple = ()


IDENTITIES: tuple[Identity, ...] = (
    # The Cookbook's chapter 2, §2.1-2.7, each cited by equation number (cookbook.py).
    *(Identity(*row) for row in COOKBOOK),
    # ----- elementwise functions -----
    Identity("elementwise", "sum(tanh(X @ W))", "W", "X.T @ (1 - tanh(X @ W) * tanh(X @ W))",
             "PRML (5.60): tanh′ = 1 − tanh²"),
    Identity("elementwise", "sum(sigmoid(X) * Y)", "X", "Y * sigmoid(X) * (1 - sigmoid(X))",
             "PRML (4.88): σ′ = σ(1 − σ)"),
    Identity("elementwise", "sum(A * log(X))", "X", "A / X",
             "chain rule entry by entry, d log x = dx / x"),
    Identity("elementwise", "sum(exp(A @ x))", "x", "A.T @ exp(A @ x)",
             "chain rule with Cookbook (69)", ("x=nx1",)),
    # ----- softmax, log-softmax, log-sum-exp (rows) -----
    Identity("softmax", "sum(softmax(Z) * Y)", "Z", "softmax(Z) * (Y - rowsum(Y * softmax(Z)))",
             "PRML (4.106)"),
    Identity("softmax", "softmax(Z)", "Z", "softmax(Z) * (G - rowsum(G * softmax(Z)))",
             "PRML (4.106), as a VJP"),
    Identity("softmax", "log_softmax(Z)", "Z", "G - softmax(Z) * rowsum(G)",
             "PRML (4.106) with d log s = ds / s"),
    Identity("softmax", "sum(logsumexp(Z))", "Z", "softmax(Z)", "Boyd §3.1.5 (log-sum-exp)"),
    Identity("softmax", "-sum(Y * log_softmax(Z))", "Z", "softmax(Z) * rowsum(Y) - Y",
             "PRML (4.109) (rows of Y summing to 1 give softmax(Z) - Y)"),
    Identity("softmax", "sum(logsumexp(X @ W) - rowsum(Y * (X @ W)))", "W",
             "X.T @ (softmax(X @ W) - Y)", "PRML (4.109), log-sum-exp form"),
    # ----- products as VJPs -----
    Identity("products", "X @ W", "X", "G @ W.T", "Giles (2008), reverse mode of C = AB"),
    Identity("products", "X @ W", "W", "X.T @ G", "Giles (2008), reverse mode of C = AB"),
    # ----- Kronecker products and vec -----
    Identity("kronecker", "a.T @ kron(A, B) @ x", "x", "kron(A.T, B.T) @ a",
             "Cookbook §10.2.1, (A ⊗ B)ᵀ = Aᵀ ⊗ Bᵀ, with (69)", ("a=px1", "x=qx1")),
    # vec is row-major (np.ravel), the site's one vec: vec(AXB) = (A ⊗ Bᵀ) vec(X).
    # The Cookbook's vec stacks columns, vec_columns(AXB) = (Bᵀ ⊗ A) vec_columns(X);
    # both forms are checked, each with its own unvec.
    Identity("kronecker", "a.T @ vec(A @ X @ B)", "X", "A.T @ unvec_like(a, A @ X @ B) @ B.T",
             "Cookbook §10.2.2 with (69), row-major vec", ("a=px1",)),
    Identity("kronecker", "a.T @ kron(A, B.T) @ vec(X)", "X",
             "A.T @ unvec_like(a, A @ X @ B) @ B.T",
             "Cookbook §10.2.2 and §10.2.1, row-major: vec(AXB) = (A ⊗ Bᵀ) vec(X)",
             ("A=pxm", "X=mxn", "B=nxq", "a=kx1")),
    Identity("kronecker", "a.T @ kron(B.T, A) @ vec_columns(X)", "X",
             "A.T @ unvec_columns_like(a, A @ X @ B) @ B.T",
             "Cookbook §10.2.2 and §10.2.1, column stacking: vec(AXB) = (Bᵀ ⊗ A) vec(X)",
             ("A=pxm", "X=mxn", "B=nxq", "a=kx1")),
    Identity("kronecker", "vec(X)", "X", "unvec_like(G, X)",
             "definition of vec (row-major, np.ravel)"),
    Identity("kronecker", "vec_columns(X)", "X", "unvec_columns_like(G, X)",
             "definition of the Cookbook's vec (column stacking)"),
)


@dataclass
class IdentityResult:
    """``derive``'s answer to one identity and the checks of both answers."""

    identity: Identity
    problem: Problem
    derived: Node
    numerator: Node | None
    stated: Node
    derived_checks: list
    stated_checks: list
    seconds: float

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.derived_checks + self.stated_checks)

    @property
    def max_error(self) -> float:
        """The largest measured error: relative for the Jacobian checks, the worst
        entry's absolute error for the finite-difference ones (see ``confirm``)."""
        return max(c.error for c in self.derived_checks + self.stated_checks)


def check_identity(identity: Identity, seed: int = 0) -> IdentityResult:
    """Ask ``derive`` the identity's question; confirm its answer and the stated one."""
    start = time.perf_counter()
    problem = prepare(identity.expression, identity.wrt, identity.shapes)
    env = copy.deepcopy(problem.env)
    env.variables["G"] = problem.output_shape
    G = Num(1.0) if problem.is_scalar else Name("G")
    derived = simplify(candidate_vjp(problem.expr, identity.wrt, G, problem.subtree_shapes), env)
    numerator = transpose_of(derived, env) if problem.is_scalar else None
    stated = parse(identity.stated, upstream=True)
    stated_numerator = transpose_of(stated, env) if problem.is_scalar else None
    derived_checks, stated_checks = confirm_candidates(
        problem, [derived, stated], np.random.default_rng(seed), [numerator, stated_numerator])
    return IdentityResult(identity, problem, derived, numerator, stated, derived_checks,
                          stated_checks, time.perf_counter() - start)
