#!/usr/bin/env bash
# Entrypoint of the monolith box: refuse to start without real secrets, prepare MariaDB's
# data directory (system tables on the very first start, the shop's database and user at
# every start), then hand PID 1 over to supervisord.
#
# Docker runs this script with the image's CMD as its arguments
# (`supervisord -c /app/monolith/supervisord.conf`). Anything else is run as it is, with no
# checks: `docker run --rm -it twinshop-monolith bash` opens a shell to look around.
set -euo pipefail

# The steps shared with the distributed variant's database container (one copy of them).
# shellcheck source=../shop/mariadb-setup.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../shop/mariadb-setup.sh"

if [ "${1:-}" != "supervisord" ]; then
    exec "$@"
fi

# SECRET_KEY (the app's) and DB_PASSWORD, checked before anything is touched.
refuse_placeholders database node
# 127.0.0.1: gunicorn connects over TCP on the box's loopback. localhost: the unix socket,
# for `docker exec -it <container> mariadb -u shop -p shop`. No other host: the database
# is part of the box, invisible from outside it.
prepare_mariadb 127.0.0.1 localhost

# The shop's tables and seed data come later, from `python -m shop.dbadmin init`, run by
# supervisord's gunicorn program before the app starts (see supervisord.conf).
# `exec` replaces this shell with supervisord, which becomes PID 1: it receives
# `docker stop`'s SIGTERM directly and stops gunicorn, then MariaDB, cleanly.
say "starting supervisord"
exec "$@"
