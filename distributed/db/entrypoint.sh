#!/usr/bin/env bash
# Entrypoint of the distributed variant's database container: the same preparation as the
# monolith box (shop/mariadb-setup.sh), then MariaDB itself becomes PID 1.
#
# Docker runs this script with the image's CMD as its arguments (`mariadbd ...`). Anything
# else is run as it is: `docker compose run --rm db bash` opens a shell to look around.
set -euo pipefail

# shellcheck source=../../shop/mariadb-setup.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../shop/mariadb-setup.sh"

if [ "${1:-}" != "mariadbd" ]; then
    exec "$@"
fi

# Only the database password: this container never sees the app's SECRET_KEY.
refuse_placeholders database
# %: any container on the database's network (only the API tier and the init job join it).
# localhost: the unix socket, for `docker compose exec db mariadb -u shop -p shop`.
prepare_mariadb '%' localhost

# `exec`: mariadbd becomes PID 1 and receives `docker stop`'s SIGTERM itself, which shuts
# InnoDB down cleanly (the CMD's --user=mysql drops root before it opens any file).
say "starting MariaDB"
exec "$@"
