"""python -m instructor COMMAND ...: the instructor kit's command line (see cli.py)."""
import sys

from .cli import main

sys.exit(main())
