"""Start Expotion Studio, the desktop app: ``python launch_studio.py [VIDEO|SESSION]``."""

import sys

from ui.app import main

if __name__ == "__main__":
    sys.exit(main())
