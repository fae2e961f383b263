#!/usr/bin/env bash
# Install RabbitMQ from Debian and start it without systemd; idempotent (a broker that
# already answers is left alone). Prints the transport_url to use.
#
# Environment:
#   VIRTFLEET_SKIP_APT=1          do not touch apt (rabbitmq-server already installed)
#   VIRTFLEET_RABBIT_TIMEOUT=60   seconds to wait for the broker to answer
#   VIRTFLEET_RABBIT_USER/_PASSWORD  an account to create (default virtfleet/virtfleet),
#                                 since the built-in guest account only works on localhost
set -euo pipefail

TIMEOUT=${VIRTFLEET_RABBIT_TIMEOUT:-60}
RUSER=${VIRTFLEET_RABBIT_USER:-virtfleet}
RPASS=${VIRTFLEET_RABBIT_PASSWORD:-virtfleet}

if ! command -v rabbitmq-server >/dev/null 2>&1 && ! [[ -x /usr/sbin/rabbitmq-server ]]; then
  if [[ "${VIRTFLEET_SKIP_APT:-0}" == 1 ]]; then
    echo "install-rabbitmq: rabbitmq-server is not installed and VIRTFLEET_SKIP_APT=1" >&2
    exit 1
  fi
  echo "install-rabbitmq: installing rabbitmq-server"
  export DEBIAN_FRONTEND=noninteractive
  # Debian's postinst tries to start the service; without systemd/init that only warns.
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends rabbitmq-server >/dev/null
fi
export PATH="/usr/sbin:/usr/lib/rabbitmq/bin:$PATH"

answers() { rabbitmqctl -q status >/dev/null 2>&1; }  # ~4 s: rabbitmqctl boots an Erlang VM
listening() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
marker=/var/lib/rabbitmq/.virtfleet-user-$RUSER

if listening && [[ -f $marker ]]; then  # the common case, in milliseconds
  echo "install-rabbitmq: up; transport_url = rabbit://$RUSER:$RPASS@127.0.0.1:5672/"
  exit 0
fi
if ! answers; then
  echo "install-rabbitmq: starting rabbitmq-server"
  mkdir -p /var/log/rabbitmq /var/lib/rabbitmq
  chown -R rabbitmq:rabbitmq /var/log/rabbitmq /var/lib/rabbitmq 2>/dev/null || true
  # -detached forks the Erlang VM away from this shell; its logs go to /var/log/rabbitmq.
  if id rabbitmq >/dev/null 2>&1 && [[ $(id -u) == 0 ]]; then
    su -s /bin/sh rabbitmq -c "HOME=/var/lib/rabbitmq rabbitmq-server -detached" || true
  else
    rabbitmq-server -detached || true
  fi
  for ((i = 0; i < TIMEOUT * 2; i++)); do
    answers && break
    sleep 0.5
  done
  if ! answers; then
    echo "install-rabbitmq: the broker did not answer within ${TIMEOUT}s" >&2
    tail -20 /var/log/rabbitmq/*.log >&2 2>/dev/null || true
    exit 1
  fi
  rabbitmqctl -q await_startup >/dev/null 2>&1 || true
fi

if [[ ! -f $marker ]]; then  # users live in the broker's database, so once is enough
  if ! rabbitmqctl -q list_users 2>/dev/null | awk '{print $1}' | grep -qx "$RUSER"; then
    rabbitmqctl -q add_user "$RUSER" "$RPASS" >/dev/null
  fi
  rabbitmqctl -q set_permissions -p / "$RUSER" '.*' '.*' '.*' >/dev/null
  touch "$marker" 2>/dev/null || true
fi
echo "install-rabbitmq: up; transport_url = rabbit://$RUSER:$RPASS@127.0.0.1:5672/"
