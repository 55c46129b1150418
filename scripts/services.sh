#!/usr/bin/env bash
# services.sh: real servers for cachette's tests, on loopback, without Docker.
#
# Installs what is missing (Debian packages, npm packages, a Go program built from
# scripts/mongotest), starts every server as a process of our own on fixed loopback
# ports with no persistence, waits until each answers, and writes .services/env with
# the CACHETTE_TEST_* variables the tests read.
#
# The mongodb group is two processes: mongotest (FerretDB, the MongoDB protocol) on a
# PostgreSQL of its own (Debian's postgresql; initdb into .services/data, fsync off, run
# as the user postgres when this script runs as root). PostgreSQL runs FerretDB's writes
# in parallel; SQLite, FerretDB's other storage, runs them one at a time and made the
# tests time out on a busy machine. `stop mongodb` stops only mongotest (its data stays
# in PostgreSQL, as a restarted MongoDB keeps its data); `down mongodb` stops both.
#
# The dynamodb group is DynamoDB Local, AWS's own emulator (a Java program, taken from the
# npm package amplify-dynamodb-simulator, which carries it; run on Debian's OpenJDK 17 with
# a 256 MB heap, in memory, without -sharedDb: one database per access key and region, as
# AWS keeps one per account and region). The dynalite group is dynalite (DynamoDB on Node),
# a second target: it rejects UpdateTimeToLive and starts in well under a second.
#
#   scripts/services.sh up [GROUP...]        install what is missing, start, write the env file
#   scripts/services.sh down [GROUP...]      stop what this script started (idempotent)
#   scripts/services.sh status [GROUP...]    print each server's state (exit 3 if one is not running)
#   scripts/services.sh env                  print the env file (source it, or eval the output)
#   scripts/services.sh stop NAME...         stop one server, wait until its port is closed
#   scripts/services.sh start NAME...        start it again on the same port, wait until it answers
#   scripts/services.sh restart NAME...      stop, then start
#   scripts/services.sh kill NAME...         kill -9 one server (no shutdown), wait until its port is closed
#   scripts/services.sh pause NAME...        SIGSTOP one server: its port stays open, nothing answers
#   scripts/services.sh resume NAME...       SIGCONT a paused server
#
# GROUP: redis valkey memcached redis-cluster valkey-cluster dynamodb dynalite mongodb tls
#        redis-sentinel valkey-sentinel (default: all; "sentinel" names both sentinel groups).
# NAME:  a group or one server: redis, valkey, memcached (first of the pool), memcached-2,
#        redis-cluster-1..6, valkey-cluster-1..6, dynamodb (alias dynamodb-local), dynalite,
#        mongodb (aliases mongo, mongotest), mongodb-pg (aliases postgres, postgresql),
#        redis-tls, valkey-tls, memcached-tls, redis-sentinel-node-1..2, redis-sentinel-1..3,
#        valkey-sentinel-node-1..2, valkey-sentinel-1..3.
#
# The redis-sentinel group is a Redis primary (redis-sentinel-node-1 at first), one replica
# (redis-sentinel-node-2) and three redis-sentinel processes (redis-sentinel-1..3, Debian's
# redis-sentinel package) that monitor it as master "cachette" with quorum 2, down after 1 s,
# failover timeout 6 s: a SENTINEL FAILOVER completes in a few seconds. valkey-sentinel is the
# same with valkey-server and valkey-sentinel (bookworm-backports). Each sentinel rewrites its
# config file, kept as .services/run/NAME.conf and written anew when `up` starts the group from
# nothing. `start` of a data node makes it a replica of the master the sentinels name (unless
# that is itself); `kill`, `pause`, `stop` work as for any server. Env lines:
# CACHETTE_TEST_REDIS_SENTINEL_URL (redis://s1,redis://s2,redis://s3/0?master_name=cachette),
# CACHETTE_TEST_VALKEY_SENTINEL_URL (valkey://s1,s2,s3/0?master_set=cachette), and
# CACHETTE_TEST_REDIS_SENTINEL_NODES / CACHETTE_TEST_VALKEY_SENTINEL_NODES (the data nodes,
# host:port,host:port).
#
# The redis-cluster and valkey-cluster groups are six nodes each: three primaries, each
# with one replica (--cluster-replicas 1; which replica follows which primary is up to
# redis-cli). cluster-node-timeout is 2000 ms and cluster-replica-validity-factor 0, so the
# replica of a killed primary takes over within a few seconds whatever its lag;
# cluster-require-full-coverage is no, so the other primaries' slots keep working
# meanwhile. `up` and `start` of a cluster node wait until the cluster is whole: every node
# sees cluster_state:ok, all 16384 slots served, three primaries with slots and three
# replicas with their link up, no node flagged fail. A primary killed with `kill
# redis-cluster-N` and started again with `start redis-cluster-N` (after its replica took
# over) comes back as a replica, empty, and syncs (repl-diskless-sync-delay 0: at once).
# Nodes keep their cluster config (nodes.conf) across stop/start, not their data.
#
# The tls group is a redis, a valkey and a memcached that speak TLS only, with a server
# certificate for 127.0.0.1 and localhost signed by a test CA that `up` makes with openssl
# (.services/tls/ca.pem; `down tls` removes it). Its env lines: CACHETTE_TEST_REDIS_TLS_URL
# (rediss://), CACHETTE_TEST_VALKEY_TLS_URL (valkeys://), CACHETTE_TEST_MEMCACHED_TLS_HOST
# (memcacheds://) and CACHETTE_TEST_TLS_CA (the CA's PEM file).
#
# Environment: CACHETTE_TEST_SERVICES_DIR (state directory, default <repo>/.services),
# CACHETTE_TEST_SERVICES_TIMEOUT (seconds to wait for a server, default 30),
# CACHETTE_TEST_SERVICES_PORT_OFFSET (added to every port, default 0; use a multiple of 1000
# to run a second set beside the first, e.g. for another checkout; not 10000 or 20000, which
# put a set's ports on the first set's cluster bus ports, each cluster node's port + 10000). `up` remembers the
# offset in .services/run/port-offset, so later stop/start/status/down use it too.
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
SCRIPT="$ROOT/scripts/services.sh"
SVC_DIR=${CACHETTE_TEST_SERVICES_DIR:-$ROOT/.services}
RUN_DIR="$SVC_DIR/run"
LOG_DIR="$SVC_DIR/log"
DATA_DIR="$SVC_DIR/data"
BIN_DIR="$SVC_DIR/bin"
NPM_DIR="$SVC_DIR/npm"
ENV_FILE="$SVC_DIR/env"
TIMEOUT=${CACHETTE_TEST_SERVICES_TIMEOUT:-30}
OFFSET_FILE="$RUN_DIR/port-offset"
if [[ -n ${CACHETTE_TEST_SERVICES_PORT_OFFSET:-} ]]; then
	OFFSET=$CACHETTE_TEST_SERVICES_PORT_OFFSET
elif [[ -f $OFFSET_FILE ]]; then
	OFFSET=$(<"$OFFSET_FILE")
else
	OFFSET=0
fi
HOST=127.0.0.1

if ! [[ $TIMEOUT =~ ^[1-9][0-9]*$ ]]; then
	echo "services: error: CACHETTE_TEST_SERVICES_TIMEOUT must be a whole number of seconds, got \"$TIMEOUT\"" >&2
	exit 2
fi
if ! [[ $OFFSET =~ ^[0-9]+$ ]] || ((OFFSET > 30000)); then
	echo "services: error: CACHETTE_TEST_SERVICES_PORT_OFFSET must be a number from 0 to 30000, got \"$OFFSET\"" >&2
	exit 2
fi
if ((OFFSET == 10000 || OFFSET == 20000)); then
	echo "services: error: CACHETTE_TEST_SERVICES_PORT_OFFSET=$OFFSET puts this set's ports on the cluster bus ports (port + 10000) of another set; choose another multiple of 1000" >&2
	exit 2
fi

DYNALITE_VERSION=4.0.0
# DynamoDB Local 1.25.1 comes inside this npm package (emulator/); only that folder is kept.
DDB_LOCAL_PKG=amplify-dynamodb-simulator
DDB_LOCAL_PKG_VERSION=2.9.30
DDB_LOCAL_DIR="$NPM_DIR/dynamodb-local"
DDB_LOCAL_HEAP=${CACHETTE_TEST_DYNAMODB_HEAP:-256m}
MONGOTEST_SRC="$ROOT/scripts/mongotest"
MONGOTEST_BIN="$BIN_DIR/mongotest"
DYNALITE_BIN="$NPM_DIR/node_modules/.bin/dynalite"

GROUPS_ALL=(redis valkey memcached redis-cluster valkey-cluster dynamodb dynalite mongodb tls)
SERVERS_ALL=(redis valkey memcached memcached-2
	redis-cluster-1 redis-cluster-2 redis-cluster-3 redis-cluster-4 redis-cluster-5 redis-cluster-6
	valkey-cluster-1 valkey-cluster-2 valkey-cluster-3 valkey-cluster-4 valkey-cluster-5 valkey-cluster-6
	dynamodb dynalite mongodb-pg mongodb
	redis-tls valkey-tls memcached-tls)

declare -A MEMBERS=(
	[redis]="redis"
	[valkey]="valkey"
	[memcached]="memcached memcached-2"
	[redis-cluster]="redis-cluster-1 redis-cluster-2 redis-cluster-3 redis-cluster-4 redis-cluster-5 redis-cluster-6"
	[valkey-cluster]="valkey-cluster-1 valkey-cluster-2 valkey-cluster-3 valkey-cluster-4 valkey-cluster-5 valkey-cluster-6"
	[dynamodb]="dynamodb"
	[dynalite]="dynalite"
	[mongodb]="mongodb-pg mongodb" # PostgreSQL first: mongotest stores its data there
	[tls]="redis-tls valkey-tls memcached-tls"
)

declare -A PORT=(
	[redis]=16379
	[valkey]=16380
	[memcached]=11311
	[memcached-2]=11312
	[redis-cluster-1]=17001
	[redis-cluster-2]=17002
	[redis-cluster-3]=17003
	[redis-cluster-4]=17004
	[redis-cluster-5]=17005
	[redis-cluster-6]=17006
	[valkey-cluster-1]=17101
	[valkey-cluster-2]=17102
	[valkey-cluster-3]=17103
	[valkey-cluster-4]=17104
	[valkey-cluster-5]=17105
	[valkey-cluster-6]=17106
	[dynamodb]=18000
	[dynalite]=18001
	[mongodb]=27117
	[mongodb-pg]=15432
	[redis-tls]=16391
	[valkey-tls]=16392
	[memcached-tls]=11321
)
for _n in "${!PORT[@]}"; do PORT[$_n]=$((PORT[$_n] + OFFSET)); done
unset _n

# ---------------------------------------------------------------------------
# BEGIN sentinel groups (redis-sentinel, valkey-sentinel): declarations.
# Their functions are in the block "sentinel groups: functions" below.
SENTINEL_MASTER=cachette
SENTINEL_GROUPS=(redis-sentinel valkey-sentinel)
GROUPS_ALL+=("${SENTINEL_GROUPS[@]}")
SERVERS_ALL+=(redis-sentinel-node-1 redis-sentinel-node-2 redis-sentinel-1 redis-sentinel-2 redis-sentinel-3
	valkey-sentinel-node-1 valkey-sentinel-node-2 valkey-sentinel-1 valkey-sentinel-2 valkey-sentinel-3)
MEMBERS[redis-sentinel]="redis-sentinel-node-1 redis-sentinel-node-2 redis-sentinel-1 redis-sentinel-2 redis-sentinel-3"
MEMBERS[valkey-sentinel]="valkey-sentinel-node-1 valkey-sentinel-node-2 valkey-sentinel-1 valkey-sentinel-2 valkey-sentinel-3"
PORT[redis-sentinel-node-1]=$((16481 + OFFSET))
PORT[redis-sentinel-node-2]=$((16482 + OFFSET))
PORT[redis-sentinel-1]=$((26481 + OFFSET))
PORT[redis-sentinel-2]=$((26482 + OFFSET))
PORT[redis-sentinel-3]=$((26483 + OFFSET))
PORT[valkey-sentinel-node-1]=$((16491 + OFFSET))
PORT[valkey-sentinel-node-2]=$((16492 + OFFSET))
PORT[valkey-sentinel-1]=$((26491 + OFFSET))
PORT[valkey-sentinel-2]=$((26492 + OFFSET))
PORT[valkey-sentinel-3]=$((26493 + OFFSET))
# END sentinel groups: declarations.
# ---------------------------------------------------------------------------

# ---------------------------------------------------------------------------
# small helpers

log() { printf 'services: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

now_ms() {
	local t=${EPOCHREALTIME//[!0-9]/}
	echo $((10#$t / 1000))
}

secs_since() { # START_MS [END_MS] -> "1.234s"
	local d=$((${2:-$(now_ms)} - $1))
	printf '%d.%03ds' $((d / 1000)) $((d % 1000))
}

# group_of NAME: the group a server belongs to.
group_of() {
	case $1 in
	redis-sentinel-*) echo redis-sentinel ;; # sentinel groups
	valkey-sentinel-*) echo valkey-sentinel ;; # sentinel groups
	memcached-2) echo memcached ;;
	mongodb-pg) echo mongodb ;;
	*-tls) echo tls ;;
	redis-cluster-*) echo redis-cluster ;;
	valkey-cluster-*) echo valkey-cluster ;;
	*) echo "$1" ;;
	esac
}

# kind_of NAME: which program serves it.
kind_of() {
	case $1 in
	redis-sentinel-node-*) echo redis ;; # sentinel groups
	valkey-sentinel-node-*) echo valkey ;; # sentinel groups
	redis-sentinel-[0-9]* | valkey-sentinel-[0-9]*) echo sentinel ;; # sentinel groups
	redis | redis-cluster-* | redis-tls) echo redis ;;
	valkey | valkey-cluster-* | valkey-tls) echo valkey ;;
	memcached | memcached-2 | memcached-tls) echo memcached ;;
	dynamodb) echo dynamodb ;;
	dynalite) echo dynalite ;;
	mongodb) echo mongodb ;;
	mongodb-pg) echo postgres ;;
	*) die "unknown server $1" ;;
	esac
}

is_cluster_node() { [[ $1 == *-cluster-* ]]; }

# canonical NAME: resolves aliases; fails on an unknown name.
canonical() {
	local n=${1,,}
	case $n in
	dynamodb-local | ddb) n=dynamodb ;;
	mongo | mongotest) n=mongodb ;;
	postgres | postgresql | pg) n=mongodb-pg ;;
	memcached-1) n=memcached ;;
	esac
	if [[ -n ${PORT[$n]:-} || -n ${MEMBERS[$n]:-} ]]; then
		echo "$n"
		return
	fi
	die "unknown server or group \"$1\" (groups: ${GROUPS_ALL[*]}; servers: ${SERVERS_ALL[*]})"
}

# groups_from ARGS...: the groups named (a server name selects its group); all if none.
groups_from() {
	local -A seen=()
	local a g out=()
	# shellcheck disable=SC2046
	set -- $(sentinel_aliases "$@") # sentinel groups
	if (($# == 0)); then
		echo "${GROUPS_ALL[*]}"
		return
	fi
	for a in "$@"; do
		a=$(canonical "$a")
		if [[ -n ${MEMBERS[$a]:-} ]]; then g=$a; else g=$(group_of "$a"); fi
		[[ -n ${seen[$g]:-} ]] && continue
		seen[$g]=1
		out+=("$g")
	done
	echo "${out[*]}"
}

# servers_from ARGS...: the servers named; a group name stands for its members,
# except that "redis", "valkey", "memcached", ... name the server of that name.
servers_from() {
	local a out=()
	# shellcheck disable=SC2046
	set -- $(sentinel_aliases "$@") # sentinel groups
	(($# > 0)) || die "name at least one server (${SERVERS_ALL[*]})"
	for a in "$@"; do
		a=$(canonical "$a")
		if [[ -n ${PORT[$a]:-} ]]; then
			out+=("$a")
		else
			# shellcheck disable=SC2206
			out+=(${MEMBERS[$a]})
		fi
	done
	echo "${out[*]}"
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# tcp_ask PORT REQUEST PREFIX: sends REQUEST (printf %b escapes), succeeds when the
# first line of the answer starts with PREFIX.
tcp_ask() {
	(
		exec 3<>"/dev/tcp/$HOST/$1" || exit 1
		printf '%b' "$2" >&3
		IFS= read -r -t 2 line <&3 || exit 1
		[[ $line == "$3"* ]]
	) 2>/dev/null
}

# alive PID: the process exists and is not a zombie.
alive() {
	local st
	[[ $1 =~ ^[0-9]+$ ]] || return 1
	{ read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
	st=${st##*) }
	[[ ${st%% *} != Z ]]
}

marker_of() {
	case $(kind_of "$1") in
	redis) echo redis-server ;;
	sentinel) echo sentinel ;; # sentinel groups: the process title ends in [sentinel]
	valkey) echo valkey-server ;;
	memcached) echo memcached ;;
	dynamodb) echo DynamoDBLocal.jar ;;
	dynalite) echo dynalite ;;
	mongodb) echo mongotest ;;
	postgres) echo postgres ;;
	esac
}

pidfile() { echo "$RUN_DIR/$1.pid"; }

# running_pid NAME: prints the pid of our running server NAME, fails if it is not running.
running_pid() {
	local f pid cmd
	f=$(pidfile "$1")
	[[ -f $f ]] || return 1
	pid=$(<"$f")
	alive "$pid" || return 1
	cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
	[[ $cmd == *"$(marker_of "$1")"* ]] || return 1
	echo "$pid"
}

log_tail() {
	local f="$LOG_DIR/$1.log"
	if [[ -s $f ]]; then
		log "last lines of $f:"
		tail -n 20 "$f" | sed 's/^/    /' >&2
	fi
}

who_listens() {
	command -v ss >/dev/null 2>&1 || return 0
	ss -Hltnp "sport = :$1" 2>/dev/null | sed 's/^/    /' >&2 || true
}

# probe NAME: succeeds when server NAME answers its protocol.
probe() {
	local port=${PORT[$1]}
	if is_tls_server "$1"; then
		tls_probe "$1"
		return
	fi
	case $(kind_of "$1") in
	redis | valkey | sentinel) tcp_ask "$port" 'PING\r\n' '+PONG' ;;
	memcached) tcp_ask "$port" 'version\r\n' 'VERSION' ;;
	dynamodb | dynalite)
		tcp_ask "$port" "POST / HTTP/1.1\r\nHost: $HOST:$port\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}" 'HTTP/1.1 '
		;;
	mongodb) port_open "$port" ;;
	postgres) "$(pg_bin pg_isready)" -q -h "$HOST" -p "$port" -t 2 >/dev/null 2>&1 ;;
	esac
}

# ---------------------------------------------------------------------------
# installing

APT_UPDATED=0
CODENAME=$( (. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}") || true)

apt_install() { # [-t RELEASE] PACKAGE...
	if ((EUID != 0)); then
		die "missing packages; run this script as root or install them: apt-get install $*"
	fi
	local aptlog="$LOG_DIR/apt.log"
	if ((APT_UPDATED == 0)); then
		log "apt-get update"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$aptlog" 2>&1 || {
			tail -n 20 "$aptlog" >&2
			die "apt-get update failed (log: $aptlog)"
		}
		APT_UPDATED=1
	fi
	log "apt-get install $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@" >>"$aptlog" 2>&1 || {
		tail -n 20 "$aptlog" >&2
		die "apt-get install $* failed (log: $aptlog)"
	}
}

has_backports_source() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] && grep -Eqs "^[^#]*\b$CODENAME-backports\b" "$f" && return 0
	done
	return 1
}

# add_backports_source: adds the <codename>-backports suite with the URI (and key) of the
# main Debian source.
add_backports_source() {
	local uri="" signed="" dest=/etc/apt/sources.list.d/cachette-backports.sources
	has_backports_source && return 0
	((EUID == 0)) || die "valkey-server needs the $CODENAME-backports suite; run this script as root"
	if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
		# The URIs and Signed-By of the stanza whose Suites list the release itself.
		read -r uri signed < <(awk -v rel="$CODENAME" '
			function flush() {
				if (!done && uri != "" && (" " suites " ") ~ (" " rel " ")) { print uri, signed; done = 1 }
				uri = ""; suites = ""; signed = ""
			}
			/^[[:space:]]*$/ { flush(); next }
			/^URIs:/ { uri = $2 }
			/^Suites:/ { $1 = ""; suites = $0 }
			/^Signed-By:/ { signed = $2 }
			END { flush() }' /etc/apt/sources.list.d/debian.sources) || true
	fi
	if [[ -z $uri && -f /etc/apt/sources.list ]]; then
		uri=$(awk -v rel="$CODENAME" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i == rel) { u = $(i - 1); print u; exit } }' \
			/etc/apt/sources.list) || true
	fi
	[[ -n $uri ]] || die "cannot find the Debian source URI to add $CODENAME-backports; add that suite by hand"
	log "adding the $CODENAME-backports suite ($dest)"
	{
		echo "Types: deb"
		echo "URIs: $uri"
		echo "Suites: $CODENAME-backports"
		echo "Components: main"
		[[ -n $signed ]] && echo "Signed-By: $signed"
	} >"$dest"
	APT_UPDATED=0
}

ensure_installed() { # GROUP...
	local g need_redis=0 need_valkey=0 need_memcached=0 need_node=0 need_go=0 need_pg=0 need_openssl=0
	local need_ddb=0 need_dynalite=0 need_redis_sentinel=0 need_valkey_sentinel=0
	local pkgs=()
	for g in "$@"; do
		case $g in
		redis | redis-cluster) need_redis=1 ;;
		valkey | valkey-cluster) need_valkey=1 ;;
		memcached) need_memcached=1 ;;
		tls) need_redis=1 need_valkey=1 need_memcached=1 need_openssl=1 ;;
		dynamodb) need_node=1 need_ddb=1 ;;
		dynalite) need_node=1 need_dynalite=1 ;;
		mongodb) need_go=1 need_pg=1 ;;
		redis-sentinel) need_redis=1 need_redis_sentinel=1 ;;    # sentinel groups
		valkey-sentinel) need_valkey=1 need_valkey_sentinel=1 ;; # sentinel groups
		esac
	done
	if ((need_pg)) && [[ -z $(pg_bin postgres) ]]; then
		# Only the programs: no cluster of the package's own listening on 5432.
		if [[ ! -e /etc/postgresql-common/createcluster.conf ]] && ((EUID == 0)); then
			mkdir -p /etc/postgresql-common
			echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
		fi
		pkgs+=(postgresql)
	fi

	if ((need_redis)); then
		command -v redis-server >/dev/null || pkgs+=(redis-server)
		command -v redis-cli >/dev/null || pkgs+=(redis-tools)
	fi
	((need_redis_sentinel)) && ! command -v redis-sentinel >/dev/null && pkgs+=(redis-sentinel)
	((need_memcached)) && ! command -v memcached >/dev/null && pkgs+=(memcached)
	((need_openssl)) && ! command -v openssl >/dev/null && pkgs+=(openssl)
	if ((need_node)) && ! command -v npm >/dev/null; then pkgs+=(nodejs npm); fi
	((need_ddb)) && ! command -v java >/dev/null && pkgs+=(openjdk-17-jre-headless)
	if ((${#pkgs[@]})); then apt_install "${pkgs[@]}"; fi

	if ((need_valkey)) && ! { command -v valkey-server && command -v valkey-cli; } >/dev/null; then
		if [[ $CODENAME == bookworm ]]; then
			add_backports_source
			apt_install -t "$CODENAME-backports" valkey-server valkey-tools
		else
			apt_install valkey-server valkey-tools
		fi
	fi
	if ((need_valkey_sentinel)) && ! command -v valkey-sentinel >/dev/null; then # sentinel groups
		if [[ $CODENAME == bookworm ]]; then
			add_backports_source
			apt_install -t "$CODENAME-backports" valkey-sentinel
		else
			apt_install valkey-sentinel
		fi
	fi

	if ((need_dynalite)) && ! grep -qs "\"version\": \"$DYNALITE_VERSION\"" "$NPM_DIR/node_modules/dynalite/package.json"; then
		log "npm install dynalite@$DYNALITE_VERSION into $NPM_DIR"
		mkdir -p "$NPM_DIR"
		npm install --prefix "$NPM_DIR" --no-audit --no-fund --loglevel=error \
			"dynalite@$DYNALITE_VERSION" >"$LOG_DIR/npm-install.log" 2>&1 ||
			{
				tail -n 20 "$LOG_DIR/npm-install.log" >&2
				die "npm install dynalite@$DYNALITE_VERSION failed"
			}
	fi

	if ((need_ddb)) && [[ $(cat "$DDB_LOCAL_DIR/.package" 2>/dev/null) != "$DDB_LOCAL_PKG@$DDB_LOCAL_PKG_VERSION" ]]; then
		# npm pack fetches (and checks) the package's tarball alone, without the 200-odd
		# Node packages its wrapper script depends on; only emulator/ is unpacked.
		local t0 tmp
		t0=$(now_ms)
		log "npm pack $DDB_LOCAL_PKG@$DDB_LOCAL_PKG_VERSION (DynamoDB Local, 56 MB) into $DDB_LOCAL_DIR"
		mkdir -p "$NPM_DIR"
		tmp=$(mktemp -d "$NPM_DIR/.pack.XXXXXX")
		if ! (cd "$tmp" && npm pack --loglevel=error "$DDB_LOCAL_PKG@$DDB_LOCAL_PKG_VERSION" &&
			tar -xzf "$DDB_LOCAL_PKG-$DDB_LOCAL_PKG_VERSION.tgz" package/emulator) \
			>"$LOG_DIR/npm-pack.log" 2>&1 || [[ ! -f $tmp/package/emulator/DynamoDBLocal.jar ]]; then
			rm -rf "$tmp"
			tail -n 20 "$LOG_DIR/npm-pack.log" >&2
			die "npm pack $DDB_LOCAL_PKG@$DDB_LOCAL_PKG_VERSION failed"
		fi
		rm -rf "$DDB_LOCAL_DIR"
		mv "$tmp/package/emulator" "$DDB_LOCAL_DIR"
		rm -rf "$tmp"
		echo "$DDB_LOCAL_PKG@$DDB_LOCAL_PKG_VERSION" >"$DDB_LOCAL_DIR/.package"
		log "unpacked DynamoDB Local in $(secs_since "$t0")"
	fi

	if ((need_go)); then
		local gobin
		gobin=$(command -v go || true)
		[[ -z $gobin && -x /usr/local/go/bin/go ]] && gobin=/usr/local/go/bin/go
		if [[ ! -x $MONGOTEST_BIN || -n $(find "$MONGOTEST_SRC" -type f -newer "$MONGOTEST_BIN" -print -quit) ]]; then
			[[ -n $gobin ]] || die "go is needed to build $MONGOTEST_SRC"
			local t0
			t0=$(now_ms)
			log "building mongotest (the first build takes about a minute)"
			mkdir -p "$BIN_DIR"
			(cd "$MONGOTEST_SRC" && GOWORK=off GOFLAGS=-mod=readonly "$gobin" build -trimpath -o "$MONGOTEST_BIN.tmp" .) \
				>"$LOG_DIR/mongotest-build.log" 2>&1 ||
				{
					tail -n 20 "$LOG_DIR/mongotest-build.log" >&2
					die "building mongotest failed"
				}
			mv -f "$MONGOTEST_BIN.tmp" "$MONGOTEST_BIN"
			log "built mongotest in $(secs_since "$t0")"
		fi
	fi
}

# pg_bin PROGRAM: the path of a PostgreSQL server program (newest installed version), or "".
pg_bin() {
	local p
	p=$(compgen -G "/usr/lib/postgresql/*/bin/$1" | sort -V | tail -n 1) || true
	[[ -n $p ]] || p=$(command -v "$1" || true)
	echo "$p"
}

# PostgreSQL refuses to run as root: as root, it runs as this user.
PG_USER=postgres

# as_pg_user CMD...: runs CMD as the user PostgreSQL runs as (exec, no extra process).
as_pg_user() {
	if ((EUID == 0)); then
		id -u "$PG_USER" >/dev/null 2>&1 || die "user $PG_USER is missing (the postgresql package creates it)"
		exec setpriv --reuid="$PG_USER" --regid="$PG_USER" --init-groups -- "$@"
	fi
	exec "$@"
}

# pg_dir: where the mongodb-pg cluster lives: in the data directory, unless the
# user postgres cannot enter it (a checkout under /root), then in a directory of
# its own under /tmp, remembered in the run directory and removed by `down`.
pg_dir() {
	local link="$RUN_DIR/mongodb-pg.dir" d
	if [[ -f $link ]]; then
		cat "$link"
		return
	fi
	d="$DATA_DIR/mongodb-pg"
	if ((EUID == 0)) && ! (as_pg_user test -x "$DATA_DIR") 2>/dev/null; then
		d=$(mktemp -d /tmp/cachette-pg.XXXXXX)
	fi
	echo "$d" >"$link"
	echo "$d"
}

# pg_socket_dir DIR: a Unix socket directory inside .services ("" when its path is
# too long for a socket; tests use TCP).
pg_socket_dir() {
	local sock="$1/.s.PGSQL.${PORT[mongodb-pg]}"
	if ((${#sock} < 100)); then echo "$1"; fi
}

# pg_init DIR: a fresh PostgreSQL cluster in DIR/pgdata.
pg_init() {
	local dir=$1
	rm -rf "$dir/pgdata"
	mkdir -p "$dir"
	((EUID == 0)) && chown "$PG_USER:" "$dir"
	chmod 700 "$dir"
	(as_pg_user "$(pg_bin initdb)" -D "$dir/pgdata" -U postgres --auth=trust --no-sync \
		-E UTF8 --locale=C >>"$LOG_DIR/mongodb-pg.log" 2>&1) ||
		{
			log_tail mongodb-pg
			die "initdb of the mongodb-pg cluster in $dir failed"
		}
}

mongodb_pg_url() {
	echo "postgres://postgres@$HOST:${PORT[mongodb-pg]}/postgres"
}

# ---------------------------------------------------------------------------
# the tls group: a test CA, a server certificate, TLS-only servers

TLS_DIR="$SVC_DIR/tls"

is_tls_server() { [[ $1 == *-tls ]]; }

# tls_make_certs: a test CA and a server certificate for 127.0.0.1 and localhost in
# $TLS_DIR, unless they are there (servers already running keep theirs).
tls_make_certs() {
	[[ -s $TLS_DIR/ca.pem && -s $TLS_DIR/server.pem && -s $TLS_DIR/server.key ]] && return 0
	command -v openssl >/dev/null || die "openssl is needed for the tls group"
	local tmp t0
	t0=$(now_ms)
	mkdir -p "$SVC_DIR"
	tmp=$(mktemp -d "$SVC_DIR/.tls.XXXXXX")
	{
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
			-subj "/CN=cachette test CA" -keyout "$tmp/ca.key" -out "$tmp/ca.pem" \
			-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
			openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
				-subj "/CN=localhost" -keyout "$tmp/server.key" -out "$tmp/server.csr" &&
			printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
				"extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$tmp/server.ext" &&
			openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
				-CAcreateserial -days 30 -extfile "$tmp/server.ext" -out "$tmp/server.pem"
	} >>"$LOG_DIR/tls-certs.log" 2>&1 || {
		rm -rf "$tmp"
		tail -n 20 "$LOG_DIR/tls-certs.log" >&2
		die "making the test CA and server certificate failed (log: $LOG_DIR/tls-certs.log)"
	}
	# The CA's key is not needed once the server certificate is signed.
	rm -f "$tmp/ca.key" "$tmp/server.csr" "$tmp/server.ext" "$tmp"/*.srl
	chmod 600 "$tmp/server.key"
	rm -rf "$TLS_DIR"
	mv "$tmp" "$TLS_DIR"
	log "test CA and server certificate made in $TLS_DIR ($(secs_since "$t0"))"
}

# tls_remove_certs: removes $TLS_DIR once no server of the tls group runs.
tls_remove_certs() {
	local n
	for n in ${MEMBERS[tls]}; do running_pid "$n" >/dev/null && return 0; done
	rm -rf "$TLS_DIR"
}

# tls_args NAME PORT: turns the command line in cmd (of launch) into a TLS-only one.
tls_args() {
	local name=$1 port=$2
	tls_make_certs
	case $(kind_of "$name") in
	redis | valkey)
		# No plain port: TLS only, clients not asked for a certificate.
		cmd+=(--port 0 --tls-port "$port" --tls-cert-file "$TLS_DIR/server.pem"
			--tls-key-file "$TLS_DIR/server.key" --tls-ca-cert-file "$TLS_DIR/ca.pem"
			--tls-auth-clients no)
		;;
	memcached)
		cmd+=(-Z -o "ssl_chain_cert=$TLS_DIR/server.pem,ssl_key=$TLS_DIR/server.key")
		;;
	esac
}

# tls_probe NAME: succeeds when server NAME answers over TLS with the test CA's certificate.
tls_probe() {
	local req=$'PING\r\nQUIT\r\n' want='+PONG' line
	if [[ $(kind_of "$1") == memcached ]]; then req=$'version\r\nquit\r\n' want='VERSION'; fi
	port_open "${PORT[$1]}" || return 1
	line=$(printf '%s' "$req" | timeout 5 openssl s_client -quiet -verify_return_error \
		-CAfile "$TLS_DIR/ca.pem" -verify_ip "$HOST" -connect "$HOST:${PORT[$1]}" 2>/dev/null | head -n 1) || true
	[[ $line == "$want"* ]]
}

# ---------------------------------------------------------------------------
# starting and stopping one server

# check_ports_free NAME...: fails, naming every one, if a port is taken by another process.
check_ports_free() {
	local n bad=0
	for n in "$@"; do
		port_open "${PORT[$n]}" || continue
		log "error: port $HOST:${PORT[$n]} for $n is in use by a process this script did not start:"
		who_listens "${PORT[$n]}"
		bad=1
	done
	((bad == 0)) || die "stop those processes or free the ports (or set CACHETTE_TEST_SERVICES_PORT_OFFSET=1000), then run again"
}

# launch NAME FRESH: starts server NAME in the background; FRESH=1 wipes its data first.
launch() {
	local name=$1 fresh=$2 port=${PORT[$1]} dir="$DATA_DIR/$1" logf="$LOG_DIR/$1.log"
	local cmd=()
	check_ports_free "$name"
	if [[ $(kind_of "$name") == postgres ]]; then
		dir=$(pg_dir)
		if ((fresh)) || [[ ! -f $dir/pgdata/PG_VERSION ]]; then pg_init "$dir"; fi
	fi
	((fresh)) && [[ $(kind_of "$name") != postgres ]] && rm -rf "$dir"
	mkdir -p "$dir"
	case $(kind_of "$name") in
	redis | valkey)
		local server=redis-server
		[[ $(kind_of "$name") == valkey ]] && server=valkey-server
		cmd=("$(command -v "$server")" --port "$port" --bind "$HOST" --daemonize no
			--save "" --appendonly no --dir "$dir" --logfile "" --loglevel warning)
		if is_cluster_node "$name"; then
			cmd+=(--cluster-enabled yes --cluster-config-file "$dir/nodes.conf" --cluster-node-timeout 2000
				--cluster-replica-validity-factor 0 --cluster-require-full-coverage no
				--repl-diskless-sync-delay 0)
		fi
		;;
	memcached)
		cmd=("$(command -v memcached)" -l "$HOST" -p "$port" -U 0 -m 64 -I 4m)
		((EUID == 0)) && cmd+=(-u root)
		;;
	dynamodb)
		# No option binds it to one address: it listens on every interface.
		cmd=("$(command -v java)" "-Xmx$DDB_LOCAL_HEAP" -XX:+UseSerialGC
			"-Djava.library.path=$DDB_LOCAL_DIR/DynamoDBLocal_lib" -jar "$DDB_LOCAL_DIR/DynamoDBLocal.jar"
			-inMemory -disableTelemetry -port "$port")
		;;
	dynalite)
		cmd=("$DYNALITE_BIN" --host "$HOST" --port "$port"
			--createTableMs 50 --deleteTableMs 50 --updateTableMs 50)
		;;
	mongodb)
		cmd=("$MONGOTEST_BIN" -listen "$HOST:$port" -postgresql-url "$(mongodb_pg_url)")
		;;
	postgres)
		# A throwaway cluster: nothing is made durable.
		cmd=("$(pg_bin postgres)" -D "$dir/pgdata" -h "$HOST" -p "$port"
			-k "$(pg_socket_dir "$dir")" -c fsync=off -c synchronous_commit=off
			-c full_page_writes=off -c max_connections=200 -c shared_buffers=64MB)
		;;
	esac
	is_tls_server "$name" && tls_args "$name" "$port"
	is_sentinel_member "$name" && sentinel_args "$name" "$fresh" # sentinel groups
	printf '=== %s start: %s\n' "$(date -u +%FT%TZ)" "${cmd[*]}" >>"$logf"
	# A session of its own (no signals from the caller's terminal or process group), no
	# inherited pipes or lock, so callers such as `go test` never wait on it.
	if [[ $(kind_of "$name") == postgres ]]; then
		(cd "$dir" && as_pg_user setsid "${cmd[@]}" </dev/null >>"$logf" 2>&1 9>&-) &
	else
		(cd "$dir" && exec setsid "${cmd[@]}" </dev/null >>"$logf" 2>&1 9>&-) &
	fi
	echo "$!" >"$(pidfile "$name")"
}

# wait_ready NAME: waits until NAME answers, or fails with its log.
wait_ready() {
	local name=$1 t0 deadline pid
	t0=$(now_ms)
	deadline=$((t0 + TIMEOUT * 1000))
	pid=$(<"$(pidfile "$name")")
	until probe "$name"; do
		if ! alive "$pid"; then
			log_tail "$name"
			die "$name exited during start-up (port $HOST:${PORT[$name]}); stop the rest with: $SCRIPT down"
		fi
		if (($(now_ms) > deadline)); then
			log_tail "$name"
			die "$name did not answer on $HOST:${PORT[$name]} within ${TIMEOUT}s; stop the rest with: $SCRIPT down"
		fi
		sleep 0.05
	done
	log "$name ready on $HOST:${PORT[$name]} (pid $pid, $(secs_since "$t0"))"
}

# signal_server NAME: asks our server NAME to stop; prints its pid, fails if it is not running.
signal_server() {
	local pid
	if ! pid=$(running_pid "$1"); then
		rm -f "$(pidfile "$1")"
		log "$1 is not running"
		return 1
	fi
	kill -CONT "$pid" 2>/dev/null || true # a paused server (cmd_pause) acts on no other signal
	# memcached acts on SIGTERM only at its next one-second tick; it keeps nothing, so kill it.
	if [[ $(kind_of "$1") == memcached ]]; then
		kill -KILL "$pid" 2>/dev/null || true
	elif [[ $(kind_of "$1") == postgres ]]; then
		kill -INT "$pid" 2>/dev/null || true # fast shutdown: disconnects its clients
	else
		kill -TERM "$pid" 2>/dev/null || true
	fi
	echo "$pid"
}

# await_stopped NAME PID START_MS: waits until PID has exited (SIGKILL after 10s) and the
# port of NAME is closed.
await_stopped() {
	local name=$1 pid=$2 t0=$3 deadline
	deadline=$((t0 + 10000))
	while alive "$pid"; do
		if (($(now_ms) > deadline)); then
			log "$name did not stop on SIGTERM within 10s; sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			deadline=$(($(now_ms) + 5000))
			while alive "$pid" && (($(now_ms) < deadline)); do sleep 0.05; done
			alive "$pid" && die "$name (pid $pid) does not stop"
			break
		fi
		sleep 0.02
	done
	deadline=$(($(now_ms) + 5000))
	while port_open "${PORT[$name]}"; do
		(($(now_ms) > deadline)) && die "$name stopped but port $HOST:${PORT[$name]} is still open"
		sleep 0.02
	done
	rm -f "$(pidfile "$name")"
	log "$name stopped (pid $pid, $(secs_since "$t0"))"
}

# stop_servers NAME...: stops our servers (all signalled first, then awaited).
stop_servers() {
	local n pid t0 names=() pids=() i
	t0=$(now_ms)
	for n in "$@"; do
		pid=$(signal_server "$n") || continue
		names+=("$n")
		pids+=("$pid")
	done
	for i in "${!names[@]}"; do await_stopped "${names[$i]}" "${pids[$i]}" "$t0"; done
}

# ---------------------------------------------------------------------------
# clusters

cli_of() { if [[ $1 == valkey-* ]]; then echo valkey-cli; else echo redis-cli; fi; }

cluster_info() { # CLI PORT
	"$1" -h "$HOST" -p "$2" cluster info 2>/dev/null | tr -d '\r'
}

# cluster_whole CLI PORT COUNT: true when the node on PORT sees a whole cluster of COUNT
# nodes: cluster_state:ok, every slot served, COUNT/2 primaries with slots and COUNT/2
# replicas, no node flagged fail, fail?, handshake or noaddr, every link connected, and,
# if the node is a replica, its link to its primary up.
cluster_whole() {
	local cli=$1 port=$2 count=$3 info nodes
	info=$(cluster_info "$cli" "$port") || return 1
	grep -qx 'cluster_state:ok' <<<"$info" || return 1
	grep -qx 'cluster_slots_ok:16384' <<<"$info" || return 1
	nodes=$("$cli" -h "$HOST" -p "$port" cluster nodes 2>/dev/null | tr -d '\r') || return 1
	awk -v want="$count" '
		{ n++ }
		$3 ~ /fail|handshake|noaddr/ || $8 != "connected" { bad++ }
		$3 ~ /master/ && NF >= 9 { primaries++ }
		$3 ~ /slave/ && $4 != "-" { replicas++ }
		$3 ~ /myself/ && $3 ~ /slave/ { self_replica = 1 }
		END {
			if (n != want || bad || primaries != want / 2 || replicas != want / 2) exit 1
			exit self_replica ? 2 : 0
		}' <<<"$nodes"
	case $? in
	0) return 0 ;;
	2) "$cli" -h "$HOST" -p "$port" info replication 2>/dev/null | tr -d '\r' | grep -qx 'master_link_status:up' ;;
	*) return 1 ;;
	esac
}

# wait_cluster_ok GROUP: waits until every node of the group sees the whole cluster
# (cluster_whole); fails with the first unhappy node's view after TIMEOUT.
wait_cluster_ok() {
	local group=$1 cli n deadline nodes
	cli=$(cli_of "$group")
	read -r -a nodes <<<"${MEMBERS[$group]}"
	deadline=$(($(now_ms) + TIMEOUT * 1000))
	for n in "${nodes[@]}"; do
		until cluster_whole "$cli" "${PORT[$n]}" "${#nodes[@]}"; do
			if (($(now_ms) > deadline)); then
				cluster_info "$cli" "${PORT[$n]}" | grep -E '^cluster_(state|slots_ok|known_nodes|size):' | sed 's/^/    /' >&2 || true
				"$cli" -h "$HOST" -p "${PORT[$n]}" cluster nodes 2>/dev/null | awk '{print "    " $2, $3, $4, $8, $9}' >&2 || true
				log_tail "$n"
				die "$group: node $n does not see the whole cluster (3 primaries with all slots, 3 replicas attached) within ${TIMEOUT}s"
			fi
			sleep 0.2
		done
	done
}

# form_cluster GROUP: joins the group's nodes into one cluster, three primaries and three
# replicas, unless they already are; then waits until the cluster is whole.
form_cluster() {
	local group=$1 cli n addrs=() t0
	t0=$(now_ms)
	cli=$(cli_of "$group")
	local nodes
	read -r -a nodes <<<"${MEMBERS[$group]}"
	if ! cluster_info "$cli" "${PORT[${nodes[0]}]}" | grep -qx 'cluster_slots_assigned:16384'; then
		for n in "${nodes[@]}"; do
			addrs+=("$HOST:${PORT[$n]}")
			"$cli" -h "$HOST" -p "${PORT[$n]}" cluster reset hard >/dev/null 2>&1 || true
		done
		"$cli" --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes \
			>>"$LOG_DIR/$group-create.log" 2>&1 || {
			tail -n 20 "$LOG_DIR/$group-create.log" >&2
			die "$cli --cluster create failed for $group"
		}
	fi
	wait_cluster_ok "$group"
	log "$group ready: ${addrs[*]:-nodes already joined} ($(secs_since "$t0"))"
}

# ---------------------------------------------------------------------------
# BEGIN sentinel groups: functions (redis-sentinel, valkey-sentinel)

is_sentinel_member() { [[ $1 == redis-sentinel-* || $1 == valkey-sentinel-* ]]; }
is_sentinel_proc() { [[ $1 == *-sentinel-[0-9]* ]]; }

# sentinel_aliases ARGS...: prints ARGS with "sentinel" replaced by both sentinel groups.
sentinel_aliases() {
	local a
	for a in "$@"; do
		if [[ ${a,,} == sentinel || ${a,,} == sentinels ]]; then echo "${SENTINEL_GROUPS[@]}"; else echo "$a"; fi
	done
}

# sentinel_cli GROUP PORT ARGS...: runs redis-cli (valkey-cli) against PORT, raw output.
sentinel_cli() {
	local cli
	cli=$(cli_of "$1")
	"$cli" -h "$HOST" -p "$2" "${@:3}" 2>/dev/null | tr -d '\r'
}

# sentinel_master GROUP: "host port" of the master a running sentinel of GROUP names, or "".
sentinel_master() {
	local n out
	for n in ${MEMBERS[$1]}; do
		is_sentinel_proc "$n" || continue
		running_pid "$n" >/dev/null || continue
		out=$(sentinel_cli "$1" "${PORT[$n]}" sentinel get-master-addr-by-name "$SENTINEL_MASTER" | paste -sd' ') || continue
		if [[ $out =~ ^[^\ ]+\ [0-9]+$ ]]; then
			echo "$out"
			return
		fi
	done
}

# sentinel_id NAME: a fixed sentinel run id (40 hex digits) for NAME, so that each
# sentinel's config can name the others from the start.
sentinel_id() { printf '%s' "cachette $1" | sha1sum | cut -c1-40; }

# sentinel_write_conf NAME: the config of sentinel NAME, monitoring node-1 of its group
# (the primary of a group started from nothing), with node-2 and the other sentinels
# known from the start. The sentinel rewrites the file as it runs.
sentinel_write_conf() {
	local name=$1 group n
	group=$(group_of "$name")
	{
		echo "# Written by scripts/services.sh at each fresh start; the sentinel rewrites it."
		echo "port ${PORT[$name]}"
		echo "bind $HOST"
		echo "daemonize no"
		echo 'logfile ""'
		echo "dir $DATA_DIR/$name"
		echo "sentinel myid $(sentinel_id "$name")"
		echo "sentinel monitor $SENTINEL_MASTER $HOST ${PORT[$group-node-1]} 2"
		echo "sentinel down-after-milliseconds $SENTINEL_MASTER 1000"
		echo "sentinel failover-timeout $SENTINEL_MASTER 6000"
		echo "sentinel parallel-syncs $SENTINEL_MASTER 1"
		echo "sentinel known-replica $SENTINEL_MASTER $HOST ${PORT[$group-node-2]}"
		for n in ${MEMBERS[$group]}; do
			if is_sentinel_proc "$n" && [[ $n != "$name" ]]; then
				echo "sentinel known-sentinel $SENTINEL_MASTER $HOST ${PORT[$n]} $(sentinel_id "$n")"
			fi
		done
	} >"$RUN_DIR/$name.conf"
}

# sentinel_args NAME FRESH: completes the command line in cmd (of launch). A data node
# started from nothing: node-1 primary, node-2 its replica; started again: a replica of
# the master the sentinels name, unless that is itself. A sentinel: its config file.
sentinel_args() {
	local name=$1 fresh=$2 group master
	group=$(group_of "$name")
	if is_sentinel_proc "$name"; then
		local bin=redis-sentinel
		[[ $group == valkey-* ]] && bin=valkey-sentinel
		command -v "$bin" >/dev/null || die "$bin is not installed; run: $SCRIPT up $group"
		if ((fresh)) || [[ ! -s $RUN_DIR/$name.conf ]]; then sentinel_write_conf "$name"; fi
		cmd=("$(command -v "$bin")" "$RUN_DIR/$name.conf" --loglevel notice)
		return
	fi
	cmd+=(--repl-diskless-sync yes --repl-diskless-sync-delay 0)
	if ((fresh)); then
		[[ $name == *-node-1 ]] || cmd+=(--replicaof "$HOST" "${PORT[$group-node-1]}")
		return
	fi
	master=$(sentinel_master "$group")
	[[ -z $master ]] && master="$HOST ${PORT[$group-node-1]}"
	# shellcheck disable=SC2206
	[[ $master != "$HOST ${PORT[$name]}" ]] && cmd+=(--replicaof $master)
	return 0
}

# sentinel_info GROUP PORT: "SENTINEL MASTER" of the monitored master as key=value lines.
sentinel_info() {
	sentinel_cli "$1" "$2" sentinel master "$SENTINEL_MASTER" | paste -d= - -
}

# wait_sentinel_ok GROUP: waits until every sentinel of GROUP sees the master up, a
# replica with its link to the master up, and the two other sentinels.
wait_sentinel_ok() {
	local group=$1 n t0 deadline info replicas
	t0=$(now_ms)
	deadline=$((t0 + TIMEOUT * 1000))
	for n in ${MEMBERS[$group]}; do
		is_sentinel_proc "$n" || continue
		while :; do
			info=$(sentinel_info "$group" "${PORT[$n]}")
			replicas=$(sentinel_cli "$group" "${PORT[$n]}" sentinel replicas "$SENTINEL_MASTER")
			if grep -qx 'flags=master' <<<"$info" && grep -qx 'num-other-sentinels=2' <<<"$info" &&
				grep -qx 'master-link-status' <<<"$replicas" && grep -A1 -x 'master-link-status' <<<"$replicas" | grep -qx ok; then
				break
			fi
			if (($(now_ms) > deadline)); then
				sed 's/^/    /' <<<"$info" >&2
				log_tail "$n"
				die "$group: sentinel $n does not see master $SENTINEL_MASTER, its replica and the other sentinels within ${TIMEOUT}s"
			fi
			sleep 0.1
		done
	done
	log "$group ready: master $SENTINEL_MASTER at $(sentinel_master "$group") ($(secs_since "$t0"))"
}

# sentinel_env_lines GROUP: adds the group's lines to lines (of write_env).
sentinel_env_lines() {
	local g=$1 n s=() d=()
	for n in ${MEMBERS[$g]}; do
		if is_sentinel_proc "$n"; then s+=("$HOST:${PORT[$n]}"); else d+=("$HOST:${PORT[$n]}"); fi
	done
	if [[ $g == redis-sentinel ]]; then
		lines+=("CACHETTE_TEST_REDIS_SENTINEL_URL=redis://${s[0]},redis://${s[1]},redis://${s[2]}/0?master_name=$SENTINEL_MASTER")
		lines+=("CACHETTE_TEST_REDIS_SENTINEL_NODES=${d[0]},${d[1]}")
	else
		lines+=("CACHETTE_TEST_VALKEY_SENTINEL_URL=valkey://${s[0]},${s[1]},${s[2]}/0?master_set=$SENTINEL_MASTER")
		lines+=("CACHETTE_TEST_VALKEY_SENTINEL_NODES=${d[0]},${d[1]}")
	fi
}

# sentinel_status NAME: a data node's role, or the master a sentinel names.
sentinel_status() {
	local g
	g=$(group_of "$1")
	if is_sentinel_proc "$1"; then
		echo "master: $(sentinel_cli "$g" "${PORT[$1]}" sentinel get-master-addr-by-name "$SENTINEL_MASTER" | paste -sd:)"
	else
		sentinel_cli "$g" "${PORT[$1]}" info replication | grep '^role:' || true
	fi
}

# END sentinel groups: functions
# ---------------------------------------------------------------------------

# ---------------------------------------------------------------------------
# the env file

group_running() {
	local n
	for n in ${MEMBERS[$1]}; do running_pid "$n" >/dev/null || return 1; done
}

cluster_urls() { # SCHEME GROUP
	local n out=()
	for n in ${MEMBERS[$2]}; do out+=("$1://$HOST:${PORT[$n]}"); done
	(
		IFS=,
		echo "${out[*]}"
	)
}

cluster_addrs() { # GROUP
	local n out=()
	for n in ${MEMBERS[$1]}; do out+=("$HOST:${PORT[$n]}"); done
	(
		IFS=,
		echo "${out[*]}"
	)
}

any_running() {
	local n
	for n in "${SERVERS_ALL[@]}"; do running_pid "$n" >/dev/null && return 0; done
	return 1
}

# write_env: writes .services/env for the groups that are running; removes it if none is.
write_env() {
	local g all=1 lines=()
	for g in "${GROUPS_ALL[@]}"; do
		if ! group_running "$g"; then
			all=0
			continue
		fi
		case $g in
		redis) lines+=("CACHETTE_TEST_REDIS_URL=redis://$HOST:${PORT[redis]}/0") ;;
		valkey) lines+=("CACHETTE_TEST_VALKEY_URL=valkey://$HOST:${PORT[valkey]}") ;;
		memcached)
			lines+=("CACHETTE_TEST_MEMCACHED_HOST=$HOST:${PORT[memcached]}")
			lines+=("CACHETTE_TEST_MEMCACHED_POOL=$(cluster_addrs memcached)")
			;;
		redis-cluster)
			lines+=("CACHETTE_TEST_REDIS_CLUSTER=$(cluster_urls redis redis-cluster)")
			lines+=("CACHETTE_TEST_REDIS_CLUSTER_ADDRS=$(cluster_addrs redis-cluster)")
			;;
		valkey-cluster)
			lines+=("CACHETTE_TEST_VALKEY_CLUSTER=$(cluster_urls valkey valkey-cluster)")
			lines+=("CACHETTE_TEST_VALKEY_CLUSTER_ADDRS=$(cluster_addrs valkey-cluster)")
			;;
		dynamodb) lines+=("CACHETTE_TEST_DYNAMODB_URL=http://$HOST:${PORT[dynamodb]}") ;;
		dynalite) lines+=("CACHETTE_TEST_DYNALITE_URL=http://$HOST:${PORT[dynalite]}") ;;
		mongodb) lines+=("CACHETTE_TEST_MONGODB_URL=mongodb://$HOST:${PORT[mongodb]}") ;;
		redis-sentinel | valkey-sentinel) sentinel_env_lines "$g" ;; # sentinel groups
		tls)
			lines+=("CACHETTE_TEST_REDIS_TLS_URL=rediss://$HOST:${PORT[redis-tls]}/0")
			lines+=("CACHETTE_TEST_VALKEY_TLS_URL=valkeys://$HOST:${PORT[valkey-tls]}")
			lines+=("CACHETTE_TEST_MEMCACHED_TLS_HOST=memcacheds://$HOST:${PORT[memcached-tls]}")
			lines+=("CACHETTE_TEST_TLS_CA=$TLS_DIR/ca.pem")
			;;
		esac
	done
	if ((${#lines[@]} == 0)); then
		rm -f "$ENV_FILE"
		return
	fi
	lines+=("CACHETTE_TEST_SERVICES_SCRIPT=$SCRIPT")
	# So that the script, run by a test, finds this state directory.
	[[ -n ${CACHETTE_TEST_SERVICES_DIR:-} ]] && lines+=("CACHETTE_TEST_SERVICES_DIR=$SVC_DIR")
	((all)) && lines+=("CACHETTE_TEST_SERVICES_REQUIRED=1")
	{
		echo "# Written by scripts/services.sh; source it: . $ENV_FILE"
		local l
		for l in "${lines[@]}"; do
			printf "export %s='%s'\n" "${l%%=*}" "${l#*=}"
		done
	} >"$ENV_FILE.tmp"
	mv -f "$ENV_FILE.tmp" "$ENV_FILE"
}

# ---------------------------------------------------------------------------
# commands

lock() {
	mkdir -p "$RUN_DIR" "$LOG_DIR" "$DATA_DIR"
	exec 9>"$RUN_DIR/.lock"
	flock -w 300 9 || die "another services.sh is still running (lock $RUN_DIR/.lock)"
}

cmd_up() {
	local t0 t1 list groups g n fresh started=() clusters=() todo=()
	t0=$(now_ms)
	list=$(groups_from "$@")
	read -r -a groups <<<"$list"
	lock
	if [[ -f $OFFSET_FILE && $(<"$OFFSET_FILE") != "$OFFSET" ]] && any_running; then
		die "servers are running with port offset $(<"$OFFSET_FILE"), not $OFFSET; run: $SCRIPT down"
	fi
	echo "$OFFSET" >"$OFFSET_FILE"
	ensure_installed "${groups[@]}"
	t1=$(now_ms)
	# Check every port before starting anything, so a conflict leaves nothing half started.
	for g in "${groups[@]}"; do
		for n in ${MEMBERS[$g]}; do running_pid "$n" >/dev/null || todo+=("$n"); done
	done
	((${#todo[@]} == 0)) || check_ports_free "${todo[@]}"
	for g in "${groups[@]}"; do
		# A cluster restarts from scratch only when none of its nodes is running;
		# otherwise the missing nodes rejoin with their saved cluster config.
		fresh=1
		for n in ${MEMBERS[$g]}; do running_pid "$n" >/dev/null && fresh=0; done
		[[ $g == *-cluster || $g == *-sentinel ]] || fresh=1
		for n in ${MEMBERS[$g]}; do
			if running_pid "$n" >/dev/null; then
				if probe "$n"; then
					log "$n already running on $HOST:${PORT[$n]}"
				else
					started+=("$n") # started but not answering yet: wait for it
				fi
				continue
			fi
			launch "$n" "$fresh"
			# mongotest, next in the group, needs its PostgreSQL answering.
			if [[ $(kind_of "$n") == postgres ]]; then wait_ready "$n"; else started+=("$n"); fi
		done
		[[ $g == *-cluster ]] && clusters+=("$g")
	done
	for n in "${started[@]}"; do wait_ready "$n"; done
	# Both clusters form at once: joining takes a second or two each.
	local pids=() p
	for g in "${clusters[@]}"; do
		form_cluster "$g" &
		pids+=("$!")
	done
	for p in "${pids[@]}"; do wait "$p" || die "a cluster did not form (see above)"; done
	for g in "${groups[@]}"; do [[ $g == *-sentinel ]] && wait_sentinel_ok "$g"; done # sentinel groups
	write_env
	log "up: ${groups[*]} in $(secs_since "$t0") (install/build $(secs_since "$t0" "$t1"), start $(secs_since "$t1")); env: $ENV_FILE"
}

cmd_down() {
	local t0 list groups g n servers=()
	t0=$(now_ms)
	list=$(groups_from "$@")
	read -r -a groups <<<"$list"
	lock
	for g in "${groups[@]}"; do
		# shellcheck disable=SC2206
		servers+=(${MEMBERS[$g]})
	done
	stop_servers "${servers[@]}"
	for n in "${servers[@]}"; do
		rm -rf "${DATA_DIR:?}/$n"
		if [[ $n == mongodb-pg && -f $RUN_DIR/mongodb-pg.dir ]]; then
			rm -rf "$(<"$RUN_DIR/mongodb-pg.dir")" "$RUN_DIR/mongodb-pg.dir"
		fi
	done
	[[ " ${groups[*]} " == *" tls "* ]] && tls_remove_certs
	for n in "${servers[@]}"; do is_sentinel_member "$n" && rm -f "$RUN_DIR/$n.conf"; done # sentinel groups
	any_running || rm -f "$OFFSET_FILE"
	write_env
	log "down: ${groups[*]} in $(secs_since "$t0")"
}

cmd_stop() {
	local list servers
	list=$(servers_from "$@")
	read -r -a servers <<<"$list"
	lock
	stop_servers "${servers[@]}"
}

cmd_start() {
	local n list servers started=()
	list=$(servers_from "$@")
	read -r -a servers <<<"$list"
	lock
	for n in "${servers[@]}"; do
		if running_pid "$n" >/dev/null; then
			log "$n already running on $HOST:${PORT[$n]}"
			continue
		fi
		case $(kind_of "$n") in
		dynamodb) [[ -f $DDB_LOCAL_DIR/DynamoDBLocal.jar ]] || die "DynamoDB Local is not installed; run: $SCRIPT up dynamodb" ;;
		dynalite) [[ -x $DYNALITE_BIN ]] || die "dynalite is not installed; run: $SCRIPT up dynalite" ;;
		mongodb)
			[[ -x $MONGOTEST_BIN ]] || die "mongotest is not built; run: $SCRIPT up mongodb"
			# Its storage first, should that have been stopped too.
			if ! running_pid mongodb-pg >/dev/null; then
				launch mongodb-pg 0
				wait_ready mongodb-pg
			fi
			;;
		postgres)
			launch "$n" 0
			wait_ready "$n"
			continue
			;;
		esac
		launch "$n" 0
		started+=("$n")
	done
	for n in "${started[@]}"; do
		wait_ready "$n"
		# A cluster node: the whole cluster, when all its nodes run (a primary killed and
		# started again after its replica took over is back once it has synced as a replica).
		if is_cluster_node "$n" && group_running "$(group_of "$n")"; then wait_cluster_ok "$(group_of "$n")"; fi
	done
}

# Faults for the chaos tests (internal/chaos): kill -9, SIGSTOP and SIGCONT of one
# server. A killed server starts again with `start NAME`; `stop` and `down` resume a
# paused one before stopping it.
cmd_kill() {
	local n list servers pid t0
	list=$(servers_from "$@")
	read -r -a servers <<<"$list"
	lock
	for n in "${servers[@]}"; do
		if ! pid=$(running_pid "$n"); then
			log "$n is not running"
			continue
		fi
		t0=$(now_ms)
		kill -KILL "$pid" 2>/dev/null || true
		await_stopped "$n" "$pid" "$t0"
	done
}

cmd_signal() { # SIGNAL WHAT NAME...
	local sig=$1 what=$2 n list servers pid
	shift 2
	list=$(servers_from "$@")
	read -r -a servers <<<"$list"
	lock
	for n in "${servers[@]}"; do
		pid=$(running_pid "$n") || die "$n is not running"
		kill "-$sig" "$pid" || die "cannot send SIG$sig to $n (pid $pid)"
		log "$n $what (pid $pid)"
	done
}

cmd_status() {
	local list groups g n pid rc=0 state extra
	list=$(groups_from "$@")
	read -r -a groups <<<"$list"
	for g in "${groups[@]}"; do
		for n in ${MEMBERS[$g]}; do
			extra=""
			if pid=$(running_pid "$n"); then
				if probe "$n"; then state="running (pid $pid)"; else state="not answering (pid $pid)" rc=3; fi
				if is_cluster_node "$n"; then
					extra=" $(cluster_info "$(cli_of "$g")" "${PORT[$n]}" | grep '^cluster_state:' || true)"
					extra+=" $("$(cli_of "$g")" -h "$HOST" -p "${PORT[$n]}" info replication 2>/dev/null | tr -d '\r' | grep '^role:' || true)"
				fi
				is_sentinel_member "$n" && extra=" $(sentinel_status "$n")" # sentinel groups
			elif port_open "${PORT[$n]}"; then
				state="stopped; port in use by another process"
				rc=3
			else
				state="stopped"
				rc=3
			fi
			printf '%-22s %-16s %s%s\n' "$n" "$HOST:${PORT[$n]}" "$state" "$extra"
		done
	done
	return "$rc"
}

cmd_env() {
	[[ -f $ENV_FILE ]] || die "no env file; run: $SCRIPT up"
	cat "$ENV_FILE"
}

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$SCRIPT"
}

main() {
	local sub=${1:-}
	(($#)) && shift
	case $sub in
	up) cmd_up "$@" ;;
	down) cmd_down "$@" ;;
	stop) cmd_stop "$@" ;;
	start) cmd_start "$@" ;;
	restart) cmd_stop "$@" && cmd_start "$@" ;;
	kill) cmd_kill "$@" ;;
	pause) cmd_signal STOP paused "$@" ;;
	resume) cmd_signal CONT resumed "$@" ;;
	status) cmd_status "$@" ;;
	env) cmd_env ;;
	-h | --help | help) usage ;;
	*)
		usage >&2
		exit 2
		;;
	esac
}

main "$@"
