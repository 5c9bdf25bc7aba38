import sys

from kerasdrop.apps.cli import main

sys.exit(main())
