"""`python -m bot`: the composition root's front door."""

import sys

from bot.cli import main

sys.exit(main())
