# gunicorn settings shared by every process type (monolith, web, api), so the comparison runs
# the same server with the same settings everywhere. Read by `gunicorn -c shop/gunicorn.conf.py`.
import os

from shop.config import ConfigError, ServerSettings
from shop.validation import MAX_HEADER_FIELD_BYTES, MAX_HEADER_FIELDS, MAX_REQUEST_LINE

try:
    server = ServerSettings.from_env()  # GUNICORN_* (see .env.example)
except ConfigError as error:
    # One line naming the variable: gunicorn would print a traceback for any other exception.
    raise SystemExit(f"Error: {error}") from None

# Where to listen: 127.0.0.1:<port> on the local engine, 0.0.0.0:8000 in a container.
bind = server.bind
# Worker processes: the unit of vertical scaling (`twinshop up monolith --workers N`).
workers = server.workers
# Threads per worker: requests waiting on the database or the API overlap inside a worker.
# gunicorn's threaded worker ("gthread"), whose own error answers (request too large, not
# valid HTTP) use the shop's JSON error shape instead of gunicorn's HTML (shop/worker.py).
worker_class = "shop.worker.ShopWorker"
threads = server.threads
# Build the application once, in the master process, before forking the workers: a setting
# the application cannot use (DB_POOL_SIZE=abc, a missing API_URL ...) then stops the server
# with one line naming it ("Error: ..."), instead of every worker dying with a traceback.
# The database pool and the HTTP session to the API are created later, in each worker.
preload_app = True
# A request that takes longer than this is killed and its worker replaced.
timeout = server.timeout
graceful_timeout = 10
keepalive = 5
# The size of a request's head, as the shop's API documents it (/api/openapi.json): a longer
# request line gets 414, more or longer header lines get 431 - with the JSON error shape.
limit_request_line = MAX_REQUEST_LINE
limit_request_fields = MAX_HEADER_FIELDS
limit_request_field_size = MAX_HEADER_FIELD_BYTES
# Logs to stdout/stderr, one line per event (supervisord or Docker collects them).
accesslog = "-" if server.access_log else None
errorlog = "-"
loglevel = "info"
# A recognisable process title in `ps` (e.g. "gunicorn: worker [api-2]").
proc_name = os.environ.get("TWINSHOP_NODE", "twinshop")
# gunicorn >= 24 opens a control socket in $HOME by default; several servers on one machine
# would fight over it, and nothing here uses it.
control_socket_disable = True
