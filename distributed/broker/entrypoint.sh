#!/usr/bin/env bash
# Entrypoint of the broker container: refuse to start without a real password, write the final
# rabbitmq.conf (the image's settings plus the shop's user, whose password comes from the secret
# file), then hand PID 1 over to RabbitMQ in the foreground.
set -euo pipefail

password_file="${BROKER_PASSWORD_FILE:-}"
password="${BROKER_PASSWORD:-}"
if [ -z "$password" ] && [ -n "$password_file" ]; then
    password="$(cat "$password_file")"
fi
case "$password" in
    ""|change-me|changeme|secret|placeholder)
        echo "broker: BROKER_PASSWORD is not set or is a placeholder: set it in .env (see .env.example)" >&2
        exit 1 ;;
esac
case "$password" in
    *[!A-Za-z0-9._~+-]*)
        echo "broker: BROKER_PASSWORD may hold only letters, digits and . _ ~ + - (it goes into rabbitmq.conf)" >&2
        exit 1 ;;
esac

conf=/var/lib/rabbitmq/rabbitmq.conf
{
    cat /etc/rabbitmq/rabbitmq.conf
    echo "default_user = ${BROKER_USER:-shop}"
    echo "default_pass = ${password}"
} >"$conf"
chmod 600 "$conf"
export RABBITMQ_CONFIG_FILE="$conf"
exec /usr/lib/rabbitmq/bin/rabbitmq-server "$@"
