"""``python -m derivations``: see :mod:`derivations.cli`.

Without SymPy, ``cli.main`` says how to install it (``netlib[derive]``) on
stderr instead of a traceback; this file adds nothing but the exit status.
"""

import sys

from derivations.cli import main

sys.exit(main())
