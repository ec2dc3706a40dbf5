"""``python -m derivations check [NAME ...] [--json]``: run the exact and numeric checks."""

from __future__ import annotations

import json
import time

from derivations.checks import NUMERIC_RTOL, run_checks
from derivations.registry import REGISTRY


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "check", help="run the exact and numeric checks; exit 1 if any fails",
        description=(
            "For every input and parameter of each entry, at each shape set:\n"
            "  exact    stated VJP - reshape(Jᵀ vec G) simplifies to 0 (pass/fail);\n"
            "  numeric  max|netlib - Jᵀg| / max|Jᵀg| of netlib's backward against the\n"
            f"           lambdified Jacobian, float64, random g (passes at <= {NUMERIC_RTOL:g}).\n"
            "Column-layout entries also prove their gradients are the transposes of\n"
            "the row layout's. Exit status 1 if anything fails."),
        formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="entries to check (default: all; see 'list')")
    parser.add_argument("--json", action="store_true",
                        help="print the results as JSON instead of a table")
    parser.set_defaults(run=run)


def run(args) -> int:
    unknown = [name for name in args.names if name not in REGISTRY]
    if unknown:
        print(f"check: unknown entries {', '.join(unknown)}; known: {', '.join(REGISTRY)}")
        return 2
    started = time.perf_counter()
    rows = run_checks(args.names or None)
    total = time.perf_counter() - started
    failed = [row for row in rows if not row.passed]
    if args.json:
        print(json.dumps({"rows": [row.as_dict() for row in rows], "passed": not failed,
                          "failed": len(failed), "total": len(rows),
                          "numeric_rtol": NUMERIC_RTOL, "seconds": total}, indent=1))
        return 1 if failed else 0
    print_table(rows)
    for row in failed:
        print(f"\nFAILED {row.entry} / {row.wrt} ({row.check}):\n{row.message}")
    entries = len({row.entry for row in rows})
    verdict = "all passed" if not failed else f"{len(failed)} FAILED"
    print(f"\n{len(rows)} checks of {entries} entries: {verdict} in {total:.1f} s")
    return 1 if failed else 0


def print_table(rows) -> None:
    header = ("entry", "input", "check", "shapes", "exact", "max rel err", "time")
    cells = [(r.entry, r.wrt, r.check, r.shapes, "pass" if r.exact else "FAIL",
              "-" if r.max_rel_error is None else
              f"{r.max_rel_error:.1e}{'' if r.numeric_passed else ' FAIL'}",
              f"{r.seconds:.2f} s") for r in rows]
    widths = [max(len(str(c[i])) for c in [header, *cells]) for i in range(len(header))]
    for line in [header, *cells]:
        print("  ".join(f"{c!s:{w}}" for c, w in zip(line, widths, strict=True)).rstrip())
