# shellcheck shell=bash
# What every twinshop container with a MariaDB server does before starting it - the
# monolith box (monolith/entrypoint.sh) and the distributed variant's database
# (distributed/db/entrypoint.sh) - written once, so both databases are prepared the same way.
# Not run by itself: each entrypoint loads these functions with `source`.
#
# The SQL that creates the shop's database and user comes from the application's own code
# (`python -m shop.dbadmin account-sql`, the same function the local engine uses), and
# MariaDB runs it at every start (--init-file): a new DB_PASSWORD takes effect at the next
# start, nothing to do by hand.

# Where MariaDB keeps its files (the Dockerfile's VOLUME), its configuration (the same
# shop/mariadb.cnf as every other twinshop database) and its socket. Overridable to try
# the entrypoints outside a container.
DATADIR="${MARIADB_DATADIR:-/var/lib/mysql}"
MARIADB_CNF="${MARIADB_CNF:-/app/shop/mariadb.cnf}"
RUNDIR="${MARIADB_RUNDIR:-/run/mysqld}"
# Written at every start, read by mariadbd's --init-file (see the CMD or supervisord.conf).
INIT_SQL="$RUNDIR/init.sql"

say() { printf 'entrypoint: %s\n' "$*"; }
die() {
    printf 'entrypoint: %s\n' "$*" >&2
    exit 1
}

# Refuse to start without real secrets, with one line naming the variable. The settings are
# checked by the application's own code (shop/config.py), so a container refuses exactly
# what the app would refuse: a secret must be set (directly, or as NAME_FILE for Docker
# secrets) and must not be a placeholder such as "change-me".
#   refuse_placeholders database        DB_PASSWORD (the distributed db)
#   refuse_placeholders database node   DB_PASSWORD and SECRET_KEY (the monolith box)
refuse_placeholders() {
    python - "$@" <<'PY'
import sys

from shop.config import ConfigError, DatabaseSettings, NodeSettings

try:
    if "node" in sys.argv[1:]:
        NodeSettings.from_env(default_node="monolith", default_variant="monolith")
    DatabaseSettings.from_env()
except ConfigError as error:
    sys.exit(f"entrypoint: refusing to start: {error}")
PY
}

# Prepare the data directory and the start-up SQL. Arguments: the hosts the shop's user may
# log in from ("127.0.0.1 localhost" in the box; "% localhost" - any container of the
# database's network - for the distributed db).
prepare_mariadb() {
    # mariadbd runs as the unprivileged `mysql` user: it must own its directories (a fresh
    # named volume, or a bind mount from the host, may belong to someone else).
    install -d -o mysql -g mysql -m 0755 "$RUNDIR"
    install -d -o mysql -g mysql -m 0750 "$DATADIR"
    if [ ! -d "$DATADIR/mysql" ]; then
        say "empty data directory: creating MariaDB's system tables in $DATADIR"
        # root may log in only through the unix socket as the container's root user: there
        # is no root password to leak, and no test database.
        mariadb-install-db --defaults-file="$MARIADB_CNF" --user=mysql --datadir="$DATADIR" \
            --auth-root-authentication-method=socket --skip-test-db >/dev/null
    fi
    local args=()
    local host
    for host in "$@"; do
        args+=(--host "$host")
    done
    # Readable by mariadbd only: it holds the database password.
    install -m 0600 -o mysql -g mysql /dev/null "$INIT_SQL"
    python -m shop.dbadmin account-sql "${args[@]}" >"$INIT_SQL"
}
