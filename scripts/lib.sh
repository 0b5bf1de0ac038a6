# Shared by scripts/up, scripts/down and scripts/test: where things live, and how to make sure
# each backing service (Postgres, Redis, RabbitMQ, the Garage S3 store) is installed and running.
# Every function is idempotent: it does nothing when the thing is already there.

set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Runtime state of this checkout (Garage data, logs, pid files, dev keys); git-ignored.
STATE_DIR=${TICKETING_STATE_DIR:-$REPO_ROOT/.local}
# Tools built once and reused by every checkout on the machine (Garage takes minutes to build).
TOOLS_DIR=${TICKETING_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ticketing/tools}
RUN_DIR=$STATE_DIR/run
LOG_DIR=$STATE_DIR/logs

GARAGE_VERSION=2.5.0
GARAGE_BIN=$TOOLS_DIR/garage-$GARAGE_VERSION/bin/garage
# One Garage per machine, like Postgres: every checkout (and CI's fresh clone) talks to the same
# node, so its data and node key live outside any checkout.
GARAGE_DIR=${TICKETING_GARAGE_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/ticketing/garage}
GARAGE_CONFIG=$GARAGE_DIR/garage.toml
# Development-only credentials; they match the defaults in common/src/config.rs.
S3_ACCESS_KEY_ID=${TICKETING_S3_ACCESS_KEY_ID:-GK7469636b6574696e672d6465}
S3_SECRET_ACCESS_KEY=${TICKETING_S3_SECRET_ACCESS_KEY:-6c6f63616c2d646576656c6f706d656e742d6f6e6c792d6e6f742d612d736563}
S3_BUCKET=${TICKETING_S3_BUCKET:-tickets}

SERVICES=(account-service event-service order-service ticket-service delivery-service client-service)
declare -A SERVICE_PORTS=(
  [client-service]=8080 [account-service]=8081 [event-service]=8082
  [order-service]=8083 [ticket-service]=8084 [delivery-service]=8085
)

mkdir -p "$RUN_DIR" "$LOG_DIR"

say() { printf '\033[1m==>\033[0m %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND until it succeeds.
wait_until() {
  local seconds=$1 what=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$what did not come up within ${seconds}s"
    sleep 0.5
  done
}

# apt_install PACKAGE...: installs Debian packages (root only), updating the index once.
apt_install() {
  [ "$(id -u)" = 0 ] || die "$* missing and not root: install them, or run as root"
  command -v apt-get >/dev/null || die "$* missing and this is not a Debian machine"
  if [ ! -f "$STATE_DIR/.apt-updated" ]; then
    apt-get update -qq && touch "$STATE_DIR/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# remember_started NAME: scripts/down stops only what scripts/up started.
remember_started() { echo "$1" >>"$RUN_DIR/started-dependencies"; }

ensure_postgres() {
  if port_open 127.0.0.1 5432; then return; fi
  if ! command -v pg_ctlcluster >/dev/null; then
    say "installing PostgreSQL"
    apt_install postgresql
  fi
  say "starting PostgreSQL"
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  remember_started postgres
  wait_until 60 PostgreSQL port_open 127.0.0.1 5432
}

ensure_redis() {
  if port_open 127.0.0.1 6379; then return; fi
  if ! command -v redis-server >/dev/null; then
    say "installing Redis"
    apt_install redis-server
  fi
  say "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  remember_started redis
  wait_until 30 Redis port_open 127.0.0.1 6379
}

ensure_rabbitmq() {
  if port_open 127.0.0.1 5672; then return; fi
  if ! command -v rabbitmq-server >/dev/null; then
    say "installing RabbitMQ"
    apt_install rabbitmq-server
  fi
  say "starting RabbitMQ"
  rabbitmq-server -detached
  remember_started rabbitmq
  wait_until 120 RabbitMQ port_open 127.0.0.1 5672
}

# Garage is built from crates.io once per machine into TOOLS_DIR (about 6-8 minutes on 2 cores).
install_garage() {
  [ -x "$GARAGE_BIN" ] && return
  command -v cargo >/dev/null || die "cargo is needed to build Garage"
  say "building Garage $GARAGE_VERSION from crates.io into $TOOLS_DIR (once per machine)"
  cargo install garage --version "$GARAGE_VERSION" --locked --quiet \
    --no-default-features --features lmdb,bundled-libs \
    --root "$TOOLS_DIR/garage-$GARAGE_VERSION"
}

garage() { "$GARAGE_BIN" -c "$GARAGE_CONFIG" "$@"; }

write_garage_config() {
  mkdir -p "$GARAGE_DIR/meta" "$GARAGE_DIR/data"
  cat >"$GARAGE_CONFIG" <<TOML
# Single-node development store; written by scripts/lib.sh.
metadata_dir = "$GARAGE_DIR/meta"
data_dir = "$GARAGE_DIR/data"
db_engine = "lmdb"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:3901"
rpc_public_addr = "127.0.0.1:3901"
rpc_secret = "7469636b6574696e672d6465762d7270632d7365637265742d6f6e6c79212121"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:3900"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:3903"
TOML
  chmod 600 "$GARAGE_CONFIG"
}

garage_key_in_place() {
  garage key info "$S3_ACCESS_KEY_ID" ||
    garage key import --yes -n ticketing-dev "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY"
}

garage_bucket_in_place() { garage bucket info "$S3_BUCKET" || garage bucket create "$S3_BUCKET"; }

# Starts Garage if nothing serves S3 on 3900, then makes sure the single-node layout, the
# development key (allowed to create buckets: tests make their own) and the bucket exist.
ensure_garage() {
  install_garage
  write_garage_config
  if ! port_open 127.0.0.1 3900; then
    say "starting Garage (S3 on 127.0.0.1:3900, data in $GARAGE_DIR)"
    nohup "$GARAGE_BIN" -c "$GARAGE_CONFIG" server >"$LOG_DIR/garage.log" 2>&1 &
    echo $! >"$RUN_DIR/garage.pid"
    wait_until 60 Garage garage status
  fi
  if garage layout show 2>/dev/null | grep -q "No nodes currently have a role"; then
    local node
    node=$(garage node id -q | cut -d@ -f1)
    garage layout assign -z local -c 1G "$node" >/dev/null
    garage layout apply --version 1 >/dev/null
  fi
  # A layout just applied takes a moment to spread to the node's tables: until then, writes
  # fail with "Layout not ready", so the first writes are retried (until they, or an earlier
  # attempt that answered late, took effect).
  if ! garage key info "$S3_ACCESS_KEY_ID" >/dev/null 2>&1; then
    wait_until 60 "Garage's layout" garage_key_in_place
    garage key allow --create-bucket "$S3_ACCESS_KEY_ID" >/dev/null
  fi
  if ! garage bucket info "$S3_BUCKET" >/dev/null 2>&1; then
    wait_until 60 "Garage's layout" garage_bucket_in_place
    garage bucket allow --read --write --owner "$S3_BUCKET" --key "$S3_ACCESS_KEY_ID" >/dev/null
  fi
}

ensure_dependencies() {
  ensure_postgres
  ensure_redis
  ensure_rabbitmq
  ensure_garage
}
