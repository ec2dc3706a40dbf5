"""``python -m derivations check [NAME ...] [--json] [--jobs N] [--no-cache] [--table]``."""

from __future__ import annotations

import argparse
import json
import sys
import time

from derivations.registry import REGISTRY
from derivations.verify import KINDS, NUMERIC_RTOL, cache, default_jobs, run_checks
from derivations.verify.numeric import ROUNDING_FACTOR


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "check", help="run every check of every entry; exit 1 if any fails",
        description=(
            "For every input and parameter of each entry, at each shape set:\n"
            "  exact     stated VJP - reshape(Jᵀ vec G) simplifies to 0 (pass/fail);\n"
            "  numeric   netlib's backward against the lambdified Jacobian (Jᵀg in\n"
            "            extended precision), random g: max|netlib - Jᵀg| / max|Jᵀg|\n"
            f"            <= {NUMERIC_RTOL:g}, or {ROUNDING_FACTOR:g}× what float64 rounding\n"
            "            costs Jᵀg at that point where larger (terms that cancel);\n"
            "  forward   netlib's forward against the lambdified SymPy forward map;\n"
            "  finite differences  netlib's backward against central differences of\n"
            "            netlib's forward (netlib.gradcheck, its derived tolerance).\n"
            "Column-layout entries also prove their gradients are the transposes of\n"
            "the row layout's. One line per entry as it finishes; exit status 1 if\n"
            "anything fails. SymPy results are cached (see --no-cache)."),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="entries to check (default: all; see 'list')")
    parser.add_argument("--json", action="store_true",
                        help="print the results as JSON (progress lines go to stderr)")
    parser.add_argument("--jobs", "-j", type=int, default=default_jobs(), metavar="N",
                        help="worker processes (default: one per CPU, %(default)s here)")
    parser.add_argument("--no-cache", action="store_true",
                        help=f"recompute every SymPy result (cache: {cache.directory()})")
    parser.add_argument("--table", action="store_true",
                        help="also print one line per check (entry, input, shapes, kind)")
    parser.set_defaults(run=run)


def entry_line(name: str, rows, seconds: float) -> str:
    """``dense  20 passed  0 failed  at 0.4 s`` (wall clock since the start; failed kinds named)."""
    failed = [row for row in rows if not row.passed]
    kinds = sorted({row.check for row in failed}, key=KINDS.index)
    where = f"  ({', '.join(kinds)})" if kinds else ""
    width = max(len(n) for n in REGISTRY)
    return (f"{name:{width}}  {len(rows) - len(failed):3d} passed  {len(failed):2d} "
            f"{'FAILED' if failed else 'failed'}  at {seconds:6.2f} s{where}")


def run(args) -> int:
    unknown = [name for name in args.names if name not in REGISTRY]
    if unknown:
        print(f"check: unknown entries {', '.join(unknown)}; known: {', '.join(REGISTRY)}")
        return 2
    if args.no_cache:
        cache.configure(enabled=False)
    progress = sys.stderr if args.json else sys.stdout

    started = time.perf_counter()

    def on_entry(name, rows, _seconds):
        print(entry_line(name, rows, time.perf_counter() - started), file=progress, flush=True)

    rows = run_checks(args.names or None, jobs=args.jobs, on_entry=on_entry)
    total = time.perf_counter() - started
    failed = [row for row in rows if not row.passed]
    if args.json:
        print(json.dumps({"rows": [row.as_dict() for row in rows], "passed": not failed,
                          "failed": len(failed), "total": len(rows),
                          "numeric_rtol": NUMERIC_RTOL, "seconds": total}, indent=1))
        return 1 if failed else 0
    if args.table:
        print_table(rows)
    for row in failed:
        print(f"\nFAILED {row.entry} / {row.wrt} ({row.check}):\n{row.message}")
    entries = len({row.entry for row in rows})
    verdict = "all passed" if not failed else f"{len(failed)} FAILED"
    noun = "entry" if entries == 1 else "entries"
    print(f"\n{len(rows)} checks of {entries} {noun}: {verdict} in {total:.1f} s")
    return 1 if failed else 0


def print_table(rows) -> None:
    """One line per check: entry, input, kind, shapes, verdict, relative error, time."""
    header = ("entry", "input", "check", "shapes", "result", "max rel err", "time")
    cells = [(r.entry, r.wrt or "-", r.check, r.shapes, "pass" if r.passed else "FAIL",
              "-" if r.max_rel_error is None else f"{r.max_rel_error:.1e}",
              f"{r.seconds:.2f} s") for r in rows]
    widths = [max(len(str(c[i])) for c in [header, *cells]) for i in range(len(header))]
    print()
    for line in [header, *cells]:
        print("  ".join(f"{c!s:{w}}" for c, w in zip(line, widths, strict=True)).rstrip())
