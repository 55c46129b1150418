#!/usr/bin/env bash
# Runs each fuzz target of scripts/fuzz-targets.txt ("<package> <FuzzName>"
# per line) for the given budget: a count of executions ("20000x", the
# default, what `make test` uses) or a duration ("30s").
#
# CI uses a count on purpose: with a duration, Go 1.26's fuzz coordinator
# can report a bare "context deadline exceeded" at the end of the window
# without any failing input (golang/go#75804, fixed in Go 1.27); a count
# has no deadline to race.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-20000x}
while read -r pkg name; do
	[[ -z "${pkg}" || "${pkg}" == \#* ]] && continue
	echo "-- fuzz ${pkg} ${name} (${budget})"
	go test -run='^$' -fuzz="^${name}\$" -fuzztime="${budget}" "${pkg}"
done < scripts/fuzz-targets.txt
