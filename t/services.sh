#!/usr/bin/env bash
# Start every server the test suite talks to, unless it already answers:
# Redis, RabbitMQ, PostgreSQL and memcached on their standard loopback ports.
# A server that is not installed is installed with the system package manager
# (apt-get; run as root, as CI does).  Used by `make test` and `.ci/run`.
#
#   t/services.sh          start what is down, wait until all answer
#   t/services.sh --check  only report; exit 1 if any is down
set -euo pipefail

check_only=""
[ "${1:-}" = "--check" ] && check_only=1

port_open() { (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() {  # wait_for_port NAME PORT
    for _ in $(seq 1 90); do
        if port_open "$2"; then echo "services: $1 is up (127.0.0.1:$2)"; return 0; fi
        sleep 1
    done
    echo "services: $1 did not come up on 127.0.0.1:$2" >&2
    return 1
}

apt_updated=""
apt_install() {  # apt_install PACKAGE...
    if ! command -v apt-get >/dev/null; then
        echo "services: $* missing and no apt-get here: install it, or start the server yourself" >&2
        return 1
    fi
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    [ -n "$apt_updated" ] || { $sudo apt-get update -qq; apt_updated=1; }
    echo "services: installing $*"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

start_redis() {
    command -v redis-server >/dev/null || apt_install redis-server
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
}

start_rabbitmq() {
    command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
    rabbitmq-server -detached >/dev/null 2>&1
}

start_postgresql() {
    local version
    version=$(ls /etc/postgresql | sort -n | tail -n 1)
    local fresh=""
    [ -n "$(ls /etc/postgresql 2>/dev/null)" ] || { apt_install postgresql; fresh=1; }
    version=$(ls /etc/postgresql | sort -n | tail -n 1)
    if [ -n "$fresh" ]; then
        # The suite connects as postgres over TCP without a password (trust).
        sed -i '1i host all all 127.0.0.1/32 trust' "/etc/postgresql/$version/main/pg_hba.conf"
    fi
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    if [ -n "$fresh" ]; then
        wait_for_port postgresql 5432
        su postgres -c "createdb test" || true
    fi
}

start_memcached() {
    command -v memcached >/dev/null || apt_install memcached
    local user=()
    [ "$(id -u)" = 0 ] && user=(-u root)
    memcached -d "${user[@]}" -l 127.0.0.1 -p 11211
}

down=0
for service in redis:6379 rabbitmq:5672 postgresql:5432 memcached:11211; do
    name=${service%%:*}
    port=${service##*:}
    if port_open "$port"; then
        echo "services: $name is up (127.0.0.1:$port)"
        continue
    fi
    if [ -n "$check_only" ]; then
        echo "services: $name is down (127.0.0.1:$port)"
        down=1
        continue
    fi
    "start_$name"
    wait_for_port "$name" "$port"
done

# The terminal-monitor test (celery events) drives curses in tmux.
if [ -z "$check_only" ] && ! command -v tmux >/dev/null; then
    apt_install tmux
fi
exit $down
