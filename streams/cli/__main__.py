"""``python -m streams.cli``: the ``txscreen`` command, run from a checkout."""

import sys

from streams.cli.main import main

sys.exit(main())
