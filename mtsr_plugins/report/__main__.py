import sys

from mtsr_plugins.report.cli import main

sys.exit(main())
