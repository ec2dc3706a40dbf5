"""``python -m derivations list``: the registry entries."""

from __future__ import annotations

from derivations.registry import REGISTRY


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "list", help="list the registry entries (layers and losses)",
        description="List every registry entry: its name (use it with show and check), "
                    "kind, netlib class, inputs and parameters.")
    parser.set_defaults(run=run)


def run(args) -> int:
    width = max(len(name) for name in REGISTRY)
    print(f"{'name':{width}}  {'kind':5}  {'netlib class':30}  inputs")
    for d in REGISTRY.values():
        cls = d.netlib_class.__name__
        print(f"{d.name:{width}}  {d.kind:5}  {cls:30}  {', '.join(d.inputs)}   ({d.title})")
    return 0
