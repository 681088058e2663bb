"""``python -m vir``: the ``vir-gateway`` command."""

import sys

from vir.cli import main

sys.exit(main())
