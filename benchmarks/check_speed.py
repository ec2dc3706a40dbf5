"""How long ``python -m derivations check`` and ``show`` take, cold and warm.

Each measurement is a fresh subprocess (imports included), as a user runs it:

* ``check`` of the whole registry with an empty cache directory (cold), then
  again with the cache it filled (warm), ``--jobs`` worker processes;
* ``show NAME`` of every entry, with that warm cache.

Targets on the 2-core machine of the brief: cold < 20 s, warm < 5 s, every
``show`` < 10 s. Not a test: the machine is shared and timings vary.

    python benchmarks/check_speed.py [--jobs N] [--skip-show] [NAME ...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"check, cold": 20.0, "check, warm": 5.0, "show": 10.0}


def timed(arguments: list[str], cache: str) -> tuple[float, int, str]:
    """Seconds, exit status and output tail of ``python -m derivations ARGUMENTS``."""
    started = time.perf_counter()
    process = subprocess.run([sys.executable, "-m", "derivations", *arguments], cwd=ROOT,
                             env={**os.environ, "NETLIB_CACHE": cache},
                             capture_output=True, text=True)
    return time.perf_counter() - started, process.returncode, process.stdout[-300:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="entries (default: the whole registry)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-show", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from derivations.registry import REGISTRY

    names = args.names or list(REGISTRY)
    rows, failed = [], False
    with tempfile.TemporaryDirectory(prefix="netlib-cache-") as cache:
        for label in ("check, cold", "check, warm"):
            seconds, status, tail = timed(["check", *args.names, "--jobs", str(args.jobs)],
                                          cache)
            rows.append((label, seconds, TARGETS[label], status))
            print(f"{label}: {seconds:.1f} s (exit {status})\n{tail.strip()}\n", flush=True)
        if not args.skip_show:
            for name in names:
                seconds, status, _ = timed(["show", name], cache)
                rows.append((f"show {name}", seconds, TARGETS["show"], status))
                print(f"show {name}: {seconds:.1f} s", flush=True)
    print(f"\n{'what':28} {'seconds':>8} {'target':>7}  verdict  (cpu count {os.cpu_count()}, "
          f"load {os.getloadavg()[0]:.1f})")
    for label, seconds, target, status in rows:
        verdict = "ok" if seconds < target and status == 0 else (
            "FAILED" if status else "slow")
        failed |= status != 0
        print(f"{label:28} {seconds:8.1f} {target:7.0f}  {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
