"""Subcommands of ``python -m derivations``, one module each (see :mod:`derivations.cli`)."""
