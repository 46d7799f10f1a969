import sys

from janus.cli import main

sys.exit(main())
