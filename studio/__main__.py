"""``python -m studio`` runs the ``expotion`` command line."""

import sys

from studio.cli import main

sys.exit(main())
