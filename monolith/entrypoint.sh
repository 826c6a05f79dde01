#!/usr/bin/env bash
# Entrypoint of the monolith box: refuse to start without real secrets, prepare MariaDB's
# data directory on the very first start, then hand PID 1 over to supervisord.
#
# Docker runs this script with the image's CMD as its arguments
# (`supervisord -c /app/monolith/supervisord.conf`). Anything else is run as it is, with no
# checks: `docker run --rm -it twinshop-monolith bash` opens a shell to look around.
set -euo pipefail

# Where MariaDB keeps its files (the Dockerfile's VOLUME) and its config (the same
# shop/mariadb.cnf as every other twinshop database). Overridable to try this script
# outside a container.
DATADIR="${MARIADB_DATADIR:-/var/lib/mysql}"
MARIADB_CNF="${MARIADB_CNF:-/app/shop/mariadb.cnf}"
RUNDIR="${MARIADB_RUNDIR:-/run/mysqld}"
# Written once the database and its user exist: its presence means "not the first start".
# Later starts keep that user and its password: a new DB_PASSWORD needs a new volume
# (`docker compose down --volumes`) or an `ALTER USER` by hand.
INITIALISED_MARKER="$DATADIR/.twinshop-initialised"

say() { printf 'entrypoint: %s\n' "$*"; }
die() {
    printf 'entrypoint: %s\n' "$*" >&2
    exit 1
}

# The settings are checked by the application's own code (shop/config.py), so the box
# refuses exactly what the app would refuse: SECRET_KEY and DB_PASSWORD must be set
# (directly or as NAME_FILE, for Docker secrets) and must not be a placeholder such as
# "change-me".
check_settings() {
    python - <<'PY'
import sys

from shop.config import ConfigError, DatabaseSettings, NodeSettings

try:
    NodeSettings.from_env(default_node="monolith", default_variant="monolith")
    DatabaseSettings.from_env()
except ConfigError as error:
    sys.exit(f"entrypoint: refusing to start: {error}")
PY
}

# The SQL creating the shop's database and its user, from the same settings the app will
# use (DB_NAME, DB_USER, DB_PASSWORD). Python quotes the values, so any password works.
database_and_user_sql() {
    python - <<'PY'
from shop.config import DatabaseSettings

db = DatabaseSettings.from_env()


def literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def identifier(value: str) -> str:
    return "`" + value.replace("`", "``") + "`"


print(f"CREATE DATABASE IF NOT EXISTS {identifier(db.name)}"
      " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;")
# 127.0.0.1: gunicorn connects over TCP on the container's loopback. localhost: the unix
# socket, for `docker exec -it <container> mariadb -u shop -p shop`.
for host in ("127.0.0.1", "localhost"):
    account = f"{literal(db.user)}@{literal(host)}"
    print(f"CREATE USER IF NOT EXISTS {account} IDENTIFIED BY {literal(db.password)};")
    print(f"GRANT ALL PRIVILEGES ON {identifier(db.name)}.* TO {account};")
PY
}

# First start only: create MariaDB's system tables, then start a private MariaDB (no
# network, its own socket) just long enough to create the shop's database and user.
# The shop's tables and seed data come later, from `python -m shop.dbadmin init`, run by
# supervisord's gunicorn program before the app starts (see supervisord.conf).
initialise_database() {
    if [ ! -d "$DATADIR/mysql" ]; then
        say "empty data directory: creating MariaDB's system tables in $DATADIR"
        # root may log in only through the unix socket as the container's root user:
        # there is no root password to leak, and no test database.
        mariadb-install-db --defaults-file="$MARIADB_CNF" --user=mysql --datadir="$DATADIR" \
            --auth-root-authentication-method=socket --skip-test-db >/dev/null
    fi

    local socket="$RUNDIR/init.sock"
    say "first start: creating the shop's database and user"
    mariadbd --defaults-file="$MARIADB_CNF" --user=mysql --datadir="$DATADIR" \
        --skip-networking --socket="$socket" --pid-file="$RUNDIR/init.pid" &
    local pid=$!
    local tries=60
    until mariadb-admin --no-defaults --socket="$socket" --user=root --silent ping >/dev/null 2>&1; do
        kill -0 "$pid" 2>/dev/null || die "MariaDB stopped during its first start (see its messages above)"
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || die "MariaDB did not accept connections within 60 s on its first start"
        sleep 1
    done
    database_and_user_sql | mariadb --no-defaults --socket="$socket" --user=root
    # A clean shutdown, waited for: InnoDB flushes everything before supervisord starts
    # the real server on the same files.
    mariadb-admin --no-defaults --socket="$socket" --user=root shutdown
    wait "$pid"
    touch "$INITIALISED_MARKER"
    say "first start: database ready"
}

if [ "${1:-}" != "supervisord" ]; then
    exec "$@"
fi

check_settings
# mariadbd runs as the unprivileged `mysql` user: it must own its directories (a fresh
# named volume, or a bind mount from the host, may belong to someone else).
install -d -o mysql -g mysql -m 0755 "$RUNDIR"
install -d -o mysql -g mysql -m 0750 "$DATADIR"
if [ ! -e "$INITIALISED_MARKER" ]; then
    initialise_database
fi

# `exec` replaces this shell with supervisord, which becomes PID 1: it receives
# `docker stop`'s SIGTERM directly and stops gunicorn, then MariaDB, cleanly.
say "starting supervisord"
exec "$@"
