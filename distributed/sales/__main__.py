"""``python -m distributed.sales``: the sales consumer, until SIGTERM."""

import sys

from distributed.sales.worker import main

sys.exit(main())
