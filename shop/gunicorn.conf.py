# gunicorn settings shared by every process type (monolith, web, api), so the comparison runs
# the same server with the same settings everywhere. Read by `gunicorn -c shop/gunicorn.conf.py`.
import os

# Where to listen: 127.0.0.1:<port> on the local engine, 0.0.0.0:8000 in a container.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Worker processes: the unit of vertical scaling (`twinshop up monolith --workers N`).
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
# Threads per worker: requests waiting on the database or the API overlap inside a worker.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A request that takes longer than this is killed and its worker replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
keepalive = 5
# Logs to stdout/stderr, one line per event (supervisord or Docker collects them).
accesslog = None if os.environ.get("GUNICORN_ACCESS_LOG", "0") != "1" else "-"
errorlog = "-"
loglevel = "info"
# A recognisable process title in `ps` (e.g. "gunicorn: worker [api-2]").
proc_name = os.environ.get("TWINSHOP_NODE", "twinshop")
# gunicorn >= 24 opens a control socket in $HOME by default; several servers on one machine
# would fight over it, and nothing here uses it.
control_socket_disable = True
