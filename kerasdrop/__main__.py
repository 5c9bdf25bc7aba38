import sys

from kerasdrop.cli import main

sys.exit(main())
