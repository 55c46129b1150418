#!/usr/bin/env bash
# conformance.sh: the HTTP caching test suite (http-tests/cache-tests, the
# suite behind cache-tests.fyi) against httpcache, souin and a plain reverse
# proxy, all served by bench/cmd/conformance.
#
#   CACHE_TESTS=DIR scripts/conformance.sh [IMPL...]    (make conformance CACHE_TESTS=DIR)
#
# IMPL is cachette, souin or none (default: all three). DIR holds the suite
# and its runner, run.sh (`run.sh NAME PROXY_CMD...`: it unpacks the suite,
# starts the suite's origin on 127.0.0.1:8000 and the proxy on
# 127.0.0.1:8081, and runs the suite's client; it needs node and npm). The
# suite is not part of this repository and nothing here needs it to build
# or test; this script is not part of `make test`.
#
# Results go to CONFORMANCE_OUT (default bench/results/conformance): per
# IMPL the suite's raw JSON (IMPL.json) and one line per test (IMPL.tsv:
# section, id, kind, outcome, message), then summary.md (summary-skip-...md
# with CONFORMANCE_SKIP_HEADERS), the per-section table of the IMPLs of this
# run side by side. Outcomes are the runner's raw view: pass; FAIL, a
# required test failed; opt, an optimal test not met; chkY/chkN,
# informational checks; setCC, a setup step failed because Cache-Control
# was rewritten; setup, another setup step failed; harn, the harness failed.
# CT_WORK (where run.sh unpacks the suite) passes through.
#
# No response header is excused: CT_SKIP_HEADERS is cleared. For a diagnosis,
# CONFORMANCE_SKIP_HEADERS=cache-control passes it to the runner (the
# "response headers passed through unchanged" checks then ignore
# Cache-Control) and the results are named IMPL-skip-cache-control.
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
OUT=${CONFORMANCE_OUT:-$ROOT/bench/results/conformance}
SKIP=${CONFORMANCE_SKIP_HEADERS:-}

if [[ -z ${CACHE_TESTS:-} ]]; then
	echo "conformance: set CACHE_TESTS to the directory of the cache-tests suite and its run.sh" >&2
	exit 2
fi
if [[ ! -f $CACHE_TESTS/run.sh ]]; then
	echo "conformance: no run.sh in CACHE_TESTS=$CACHE_TESTS" >&2
	exit 2
fi
IMPLS=("$@")
((${#IMPLS[@]})) || IMPLS=(cachette souin none)
for impl in "${IMPLS[@]}"; do
	case $impl in
	cachette | souin | none) ;;
	*)
		echo "conformance: unknown IMPL \"$impl\" (cachette, souin or none)" >&2
		exit 2
		;;
	esac
done

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"
(cd "$ROOT/bench" && go build -o "$WORK/conformance" ./cmd/conformance)

suffix=""
[[ -z $SKIP ]] || suffix="-skip-${SKIP//,/-}"
names=()
for impl in "${IMPLS[@]}"; do
	name=$impl$suffix
	echo "conformance: $name" >&2
	CT_SKIP_HEADERS=$SKIP CT_OUT=$WORK/results \
		bash "$CACHE_TESTS/run.sh" "$name" "$WORK/conformance" -impl "$impl" >"$WORK/$name.summary"
	cp "$WORK/results/$name.json" "$OUT/$name.json"
	# section, id, kind, raw outcome, message (the runner's TSV also has the
	# official outcome and the test's name, which the suite itself gives).
	cut -f1-4,6 "$WORK/results/$name.tsv" >"$OUT/$name.tsv"
	names+=("$name")
done

# summary.md: per section, for each implementation, pass / FAIL / opt / setup
# (setCC + setup + harn) among the tests run.
files=()
for name in "${names[@]}"; do files+=("$OUT/$name.tsv"); done
{
	echo "# HTTP caching test suite, $(date -u +%F)"
	echo
	echo "Raw outcomes per section: pass / required FAIL / optimal not met / setup failed (setCC, setup, harn)."
	echo "From \`scripts/conformance.sh ${IMPLS[*]}\`${SKIP:+ with CONFORMANCE_SKIP_HEADERS=$SKIP}."
	echo
	awk -F'\t' -v names="${names[*]}" '
		BEGIN { n = split(names, impl, " ") }
		FNR == 1 { cur++ }
		{
			s = $1
			if (!(s in seen)) { seen[s] = 1; order[++ns] = s }
			if (cur == 1) ran[s]++
			k = $4
			if (k == "setCC" || k == "setup" || k == "harn") k = "setup"
			c[cur, s, k]++
			t[cur, k]++
		}
		END {
			hdr = "| section | tests |"; sep = "|---|---:|"
			for (i = 1; i <= n; i++) { hdr = hdr " " impl[i] " |"; sep = sep "---:|" }
			print hdr; print sep
			for (j = 1; j <= ns; j++) {
				s = order[j]; line = "| " s " | " ran[s] " |"; total += ran[s]
				for (i = 1; i <= n; i++)
					line = line sprintf(" %d / %d / %d / %d |", c[i, s, "pass"], c[i, s, "FAIL"], c[i, s, "opt"], c[i, s, "setup"])
				print line
			}
			line = "| **total** | " total " |"
			for (i = 1; i <= n; i++)
				line = line sprintf(" **%d / %d / %d / %d** |", t[i, "pass"], t[i, "FAIL"], t[i, "opt"], t[i, "setup"])
			print line
		}' "${files[@]}"
} >"$OUT/summary$suffix.md"
cat "$OUT/summary$suffix.md"
for name in "${names[@]}"; do
	echo
	cat "$WORK/$name.summary"
done
