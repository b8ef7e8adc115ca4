"""``python -m service_runbooks.cli``: the command line."""

import sys

from service_runbooks.cli import main

sys.exit(main())
