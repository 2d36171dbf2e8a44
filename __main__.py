"""``python -m hillwalk``: the app, or with a subcommand the command line (``--help``)."""
import sys

from hillwalk.main import main

sys.exit(main())
