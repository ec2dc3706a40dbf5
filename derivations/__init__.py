r"""derivations: every netlib layer restated in SymPy, differentiated, and checked.

Each netlib layer and loss has one :class:`~derivations.core.Derivation`: its
forward map written in SymPy from the mathematical definition (never from
netlib's code), on small non-square concrete shapes, and the closed-form VJP we
*state* for every input and parameter. The Jacobian comes out of
``sympy.Matrix.jacobian``; the checks prove that the stated VJP equals
``Jᵀ vec(G)`` exactly, and that netlib's ``backward`` agrees numerically.
This package imports ``netlib`` only to build and run the layer it describes;
``netlib`` never imports this package.

Conventions (the same as netlib's glossary)
-------------------------------------------
* Flattening is row-major (C order) for SymPy matrices and numpy arrays alike.
* Jacobians are in numerator layout: ``J[i, j] = d y_i / d a_j`` for the
  flattened output ``y`` and the flattened argument ``a``.
* ``G`` is the upstream gradient ``dL/dy`` (a matrix of symbols of ``y``'s
  shape; ``1×1`` for a loss). A VJP is ``reshape(Jᵀ vec(G))`` to the
  argument's shape.
* A 1-D array of ``n`` entries (a bias ``b``) is a ``1×n`` SymPy row; a stated
  VJP for it may be ``1×n`` or ``n×1`` (both flatten alike).

Public API
----------
``derivations.core``
    ``Derivation`` (dataclass). Fields (a plain-text table)::

        ``name``             registry key, lowercase (``"dense"``, ``"relu"``...).
        ``title``            human title (``"Dense (row layout)"``).
        ``netlib_class``     the netlib class described (``netlib.Dense``).
        ``kind``             ``"layer"`` or ``"loss"``.
        ``definition_latex`` the definition in indices and words, for a forward
                             map that is not a matrix expression; for one that
                             is, an optional where-clause (the definition itself
                             is rendered from ``forward``).
        ``inputs``           ordered names differentiated: ``"x"`` first, then
                             parameters (``"W"``, ``"b"``...); keys of netlib's
                             ``grads`` for parameters.
        ``shape_sets``       tuple of >= 2 dicts ``name -> shape`` (tuples), for
                             every input and constant, non-square.
        ``forward``          a matrix expression in the page's notation
                             (``X * W + ones(N, 1) * b.T``, see
                             ``derivations.notation``), or
                             ``forward(symbols: dict[str, sympy.Matrix]) -> sympy.Matrix``
                             (``1×1`` for a loss, which includes its ``1/N``).
        ``stated``           ``dict[name, sympy expression]``: the closed-form
                             VJP per input, written ONCE in the page's notation
                             (``G * W.T`` over matrix symbols; ``G ⊙ f'(X)``
                             for entrywise layers). The checks substitute
                             concrete matrices into it (``d.stated_vjp``); the
                             site, ``show`` and ``--json`` print it with
                             ``derivations.printing.latex`` (``d.stated_text``).
        ``mutants``          tuple of ``Mutant``: wrong backward passes, written
                             beside the entry, that the checks must reject.
        ``build``            ``build(values: dict[str, np.ndarray]) -> layer or loss``
                             holding those parameter values (hyper-parameters
                             are baked into the entry's ``build``).
        ``sample``           ``sample(rng, shapes) -> dict[str, np.ndarray]`` for
                             every input and every *symbolic* constant: the
                             sampling domain (ReLU inputs away from 0, BCE
                             probabilities inside (0, 1)...).
        ``constants``        ordered names of arguments that are not
                             differentiated (a loss's target ``"t"``, a dropout
                             mask, integer indices). By default a constant is a
                             matrix of symbols (so the exact check holds for
                             every value of it).
        ``fixed_constants``  optional ``callable(shapes) -> dict[name, sympy.Matrix]``
                             giving *concrete* values to some constants (the
                             one-hot target of softmax cross-entropy, whose
                             stated VJP needs rows summing to 1); the numeric
                             check uses the same values.
        ``forward_arg``      name of the value passed to netlib's ``forward``
                             (``"x"``; may be a constant, e.g. integer indices).
        ``hyper``            dict of hyper-parameters the entry uses (alpha,
                             stride...), displayed by ``show``.
        ``assumptions``      ``dict[name, dict]`` of SymPy assumptions for a
                             name's symbols (default ``{"real": True}``).
        ``run``              optional ``run(obj, values, g) -> dict[name, ndarray]``
                             overriding how netlib is called (randomness, odd
                             signatures); default: layers ``forward(values[forward_arg])``
                             then ``backward(g)``, returning ``{"x": dx, **grads}``;
                             losses ``forward(values["x"], netlib_target(values))``
                             then ``backward(g)``.
        ``netlib_target``    losses: ``callable(values) -> target`` passed to
                             netlib (default ``values["t"]``; integer labels for
                             softmax cross-entropy).
        ``transpose_of``     name of an entry this one is the transpose of (column
                             layout, ``"dense"`` for ``"dense_columns"``); the
                             checks then prove, exactly, that its VJPs are the
                             transposes of that entry's.
        ``transpose_map``    ``dict[name, name]`` matching arguments of this entry
                             to the other's, for ``transpose_of``.
        ``notes``            text: stability notes, caveats.

    Methods: ``d.symbols(shapes) -> dict[str, sympy.Matrix]`` (inputs and
    constants as matrices of symbols ``x_{0,1}``..., fixed constants
    substituted), ``d.output(shapes)`` (the forward map on those symbols),
    ``d.output_shape(shapes)``, ``d.upstream_symbol(shapes) -> sympy.Matrix``
    (``G``), ``d.symbolic_constants()``, ``d.fixed_values(shapes)`` (float64
    arrays of the fixed constants), ``d.shape_text(shapes)`` (``"x 2×3, W 3×4"``),
    ``d.forward_of(symbols)``, ``d.stated_vjp(wrt, G, symbols)`` (the stated
    expression made concrete), ``d.stated_text(wrt)`` (its LaTeX),
    ``d.describe()``.

    Helpers for writing entries: ``symbol_matrix(name, shape, **assumptions)``,
    ``matrix_shape(shape)`` (1-D -> ``(1, n)``; 3-D and more -> leading axes
    stacked as rows, last axis as columns, same row-major order),
    ``elementwise(fn)`` (the forward expression ``f(X)``), ``times_derivative(fn)``
    (the stated ``G ⊙ f'(X)``), ``sigmoid(expr)`` and ``Sigma`` (σ shown by
    name), ``logistic`` (σ in numpy, for mutants), ``uniform_sample(low=-2,
    high=2, away_from_zero=0,
    ranges={name: (lo, hi)})`` (the default ``sample``).

``derivations.registry``
    ``REGISTRY: dict[str, Derivation]`` — the only list of layers in the
    project (tests, CLI and site iterate over it); ``get(name)`` raises a
    ``KeyError`` listing the known names; ``names()``. Adding a layer = its
    netlib class + one file in ``derivations/layers/`` + one line in
    ``registry.ENTRY_PATHS`` (``"derivations.layers.dense:DENSE"``).

``derivations.verify`` (the one verification engine: CLI, tests, site, mutants, user checks)
    Checks, each returning ``CheckRow`` values (``entry, wrt, shapes, check,
    passed, max_rel_error, seconds, message``, and for ``derive``'s checks
    ``tolerance, margin, measure, hint``; ``as_dict()``), ``check`` one of
    ``"exact" | "transpose" | "numeric" | "forward" | "finite differences"``
    (``derive`` adds the kinds listed in ``derivations.verify.rows.KINDS``):
    ``check_exact(d, shapes=None)`` / ``check_exact_one(d, wrt, shapes=None)``
    stated == ``reshape(Jᵀ vec G)`` simplified to zero (on failure the
    message shows stated against derived); ``check_transpose(d, shapes=None)``
    a column-layout entry's VJPs are the transposes of its row twin's;
    ``check_numeric(d, shapes=None, rng=None)`` netlib's backward against the
    lambdified ``Jᵀ g`` (random ``g``, ``NUMERIC_RTOL = 1e-12`` relative, or
    more where float64 rounding measurably loses digits at the point);
    ``check_forward(d, shapes=None, rng=None)`` netlib's forward against the
    SymPy one; ``check_finite_differences(d, shapes=None, rng=None)``
    netlib's backward against netlib.gradcheck's central differences.
    ``check_entry(d, seed=0)`` all of them; ``run_checks(names=None, seed=0,
    jobs=1, on_entry=None)`` the registry, in worker processes.
    Pieces: ``jacobian(d, wrt, shapes)`` (numerator layout, row-major),
    ``derived_vjp``, ``stated_vjp`` (raises ``StatedShapeError``), ``is_zero``,
    ``jacobian_function`` / ``jacobian_numpy`` (lambdified), ``sample_values``,
    ``draw_point``, ``expected_vjp``, ``netlib_vjp``, ``netlib_forward``,
    ``sympy_forward``, ``finite_difference_check`` (a ``GradcheckReport``).
    Relative error is ``netlib.gradcheck.relative_error`` everywhere. SymPy
    results are cached on disk keyed by everything they depend on
    (``derivations.verify.cache``; ``$NETLIB_CACHE``, ``check --no-cache``).

``derivations.latex``
    ``latex_definition(d)``, ``latex_forward(d, shapes=None)`` (the forward map
    at the small shape), ``latex_jacobian(d, wrt, shapes=None)``,
    ``latex_stated(d, wrt)`` (the closed form, ``G W^\top``),
    ``latex_stated_matrix(d, wrt, shapes=None)``, ``latex_derived(d, wrt,
    shapes=None)``, ``jacobian_structure(d, wrt, shapes=None) -> str`` (text
    pattern: ``*`` nonzero, ``.`` zero).

``derivations.general_shapes`` (SymPy ``MatrixSymbol`` calculus, confirmed)
    ``dense_general(layout="rows") -> list[GeneralResult]``: ``d tr(Gᵀ Y)/dA``
    for ``A`` in ``X, W, b`` from ``MatrixSymbol.diff`` (e.g. ``G Wᵀ``), each
    confirmed against the explicit Jacobian at every shape set of ``"dense"``
    / ``"dense_columns"`` (``result.confirmed``).
    ``softmax_cross_entropy_general() -> GeneralResult`` the documented
    failure: ``MatrixSymbol.diff`` of the log-sum-exp form returns ``0`` (or
    a wrong result), while the explicit Jacobian gives ``softmax(Z) - T``;
    ``result.confirmed`` is ``False`` and ``result.explicit`` holds the truth.
    ``GENERAL_STATEMENTS: dict[entry name, callable() -> list[GeneralResult]]``
    (``show`` prints them). ``GeneralResult``: ``entry, wrt, expression,
    statement, latex, confirmed, checked_shapes, explicit, message``.

Command line (``python -m derivations --help``)
    ``list``, ``check [NAME ...] [--json] [--jobs N] [--no-cache] [--table]``
    (one line per entry as it finishes), ``show NAME [--latex]``
    (modules ``derivations.commands.list_entries``, ``.check``, ``.show``;
    ``show_text(d)`` / ``show_latex(d)`` return what ``show`` prints).
    ``derivations.cli.SUBCOMMAND_MODULES`` lists the modules that provide
    subcommands; each defines ``register(subparsers)`` which adds a parser and
    ``set_defaults(run=callable(args) -> int exit status)``. Another command
    (``derive``) is added by appending its module to that list.
"""

__all__ = ["core", "registry", "verify"]
