"""``python -m distributed.mailer``: one mailer process, until SIGTERM (see the package's docstring)."""

import sys

from distributed.mailer.worker import main

sys.exit(main())
