"""``python -m orq_async``: the ``orq-async`` command."""

import sys

from orq_async.cli import main

sys.exit(main())
