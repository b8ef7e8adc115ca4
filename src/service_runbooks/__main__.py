"""``python -m service_runbooks``: the fleet CLI."""

import sys

from service_runbooks.cli import main

sys.exit(main())
