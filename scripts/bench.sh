#!/usr/bin/env bash
# bench.sh: cachette side by side with other Go caches (the bench/ module).
#
#   scripts/bench.sh [BENCHTIME]        (make bench BENCHTIME=...)
#
# Runs the bench module's Go benchmarks (in-memory, Redis, codecs) with
# -benchmem, then the HTTP throughput and stampede runs of bench/cmd/httpbench,
# then bench/cmd/report, which writes bench/results/latest.md and one PNG
# chart per group of scenarios. The raw output, for benchstat, goes to
# bench/results/raw.txt.
#
# BENCHTIME is go test's -benchtime (default 300ms). Environment:
#   BENCH_COUNT          -count of the Go benchmarks and runs of each HTTP system (default 3)
#   BENCH_HTTP_DURATION  measured time of one HTTP throughput run (default 3s)
#   BENCH_FILTER         -bench regexp of the Go benchmarks (default .)
#   BENCH_NO_SERVICES=1  do not start Redis with scripts/services.sh when none answers
#   BENCH_OUT            results directory (default bench/results)
#   CACHETTE_TEST_REDIS_URL  Redis to use; else the one in .services/env, else one
#                        started here (and stopped at the end). Without a Redis the
#                        Redis scenarios are skipped and the report says so.
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
BENCHTIME=${1:-300ms}
COUNT=${BENCH_COUNT:-3}
HTTP_DURATION=${BENCH_HTTP_DURATION:-3s}
FILTER=${BENCH_FILTER:-.}
OUT=${BENCH_OUT:-$ROOT/bench/results}

if ! [[ $COUNT =~ ^[1-9][0-9]*$ ]]; then
	echo "bench: BENCH_COUNT must be a positive whole number, got \"$COUNT\"" >&2
	exit 2
fi

WORK=$(mktemp -d)
STARTED_REDIS=0
cleanup() {
	if ((STARTED_REDIS)); then
		bash "$ROOT/scripts/services.sh" down redis >/dev/null 2>&1 || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

RAW=$WORK/raw.txt
note() {
	echo "bench: $*" >&2
	echo "note: $*" >>"$RAW"
}

# redis_up URL: does a Redis answer PING there?
redis_up() {
	local url=$1
	[[ -n $url ]] || return 1
	if command -v redis-cli >/dev/null 2>&1; then
		[[ $(timeout 3 redis-cli -u "$url" ping 2>/dev/null) == PONG ]]
	else
		local hostport=${url#*://}
		hostport=${hostport#*@}
		hostport=${hostport%%/*}
		timeout 3 bash -c "exec 3<>/dev/tcp/${hostport%:*}/${hostport##*:}" 2>/dev/null
	fi
}

{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "go: $(go env GOVERSION)"
	echo "nproc: $(nproc)"
	echo "loadavg-start: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
	echo "benchtime: $BENCHTIME"
	echo "count: $COUNT"
} >"$RAW"

# A Redis for the Redis scenarios and the cachette-redis HTTP runs.
REDIS_URL=${CACHETTE_TEST_REDIS_URL:-}
if [[ -z $REDIS_URL && -f $ROOT/.services/env ]]; then
	REDIS_URL=$( (
		# shellcheck disable=SC1091
		source "$ROOT/.services/env"
		echo "${CACHETTE_TEST_REDIS_URL:-}"
	))
fi
if ! redis_up "$REDIS_URL" && [[ ${BENCH_NO_SERVICES:-0} != 1 ]]; then
	echo "bench: no Redis answers${REDIS_URL:+ at $REDIS_URL}; starting one with scripts/services.sh" >&2
	if bash "$ROOT/scripts/services.sh" up redis >&2; then
		STARTED_REDIS=1
		REDIS_URL=$( (
			# shellcheck disable=SC1091
			source "$ROOT/.services/env"
			echo "${CACHETTE_TEST_REDIS_URL:-}"
		))
	fi
fi
if redis_up "$REDIS_URL"; then
	export CACHETTE_TEST_REDIS_URL=$REDIS_URL
else
	unset CACHETTE_TEST_REDIS_URL
	note "no Redis server answered (tried ${REDIS_URL:-nothing}); the Redis scenarios and cachette-redis HTTP runs were skipped"
fi

cd "$ROOT/bench"
# The bench module follows the library through its replace directive; -mod=mod
# lets it pick up a dependency the library added since bench/go.sum was written.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
echo "bench: building (the first build compiles the peers, souin's dependencies take a few minutes)" >&2
go build -o "$WORK/httpbench" ./cmd/httpbench
go build -o "$WORK/report" ./cmd/report

echo "bench: go test -bench '$FILTER' -benchtime $BENCHTIME -count $COUNT" >&2
go test -run '^$' -bench "$FILTER" -benchmem -benchtime "$BENCHTIME" -count "$COUNT" -timeout 60m . | tee -a "$RAW"

HTTP_SYSTEMS=(bare cachette cachette-nozstd souin naive)
STAMPEDE_SYSTEMS=(cachette naive souin)
if [[ -n ${CACHETTE_TEST_REDIS_URL:-} ]]; then
	HTTP_SYSTEMS+=(cachette-redis)
	STAMPEDE_SYSTEMS+=(cachette-redis)
fi
echo "bench: HTTP throughput, ${HTTP_DURATION} per run, ${COUNT} run(s) per system" >&2
for ((i = 0; i < COUNT; i++)); do
	for s in "${HTTP_SYSTEMS[@]}"; do
		"$WORK/httpbench" -mode throughput -system "$s" -duration "$HTTP_DURATION" | tee -a "$RAW"
	done
done
echo "bench: stampedes" >&2
for s in "${STAMPEDE_SYSTEMS[@]}"; do
	"$WORK/httpbench" -mode stampede -system "$s" | tee -a "$RAW"
done

echo "loadavg-end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)" >>"$RAW"
mkdir -p "$OUT"
cp "$RAW" "$OUT/raw.txt"
"$WORK/report" -in "$OUT/raw.txt" -out "$OUT"
echo "bench: done; see $OUT/latest.md (benchstat $OUT/raw.txt for statistics)" >&2
