"""``python -m mailsink``: run the mail sink until SIGTERM (see mailsink/server.py for its settings)."""

import sys

from mailsink.server import main

sys.exit(main())
