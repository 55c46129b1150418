#!/usr/bin/env bash
# Runs each fuzz target of scripts/fuzz-targets.txt ("<package> <FuzzName>"
# per line) for the given time (default 3s).
set -euo pipefail
cd "$(dirname "$0")/.."
time=${1:-3s}
while read -r pkg name; do
	[[ -z "${pkg}" || "${pkg}" == \#* ]] && continue
	echo "-- fuzz ${pkg} ${name} (${time})"
	go test -run='^$' -fuzz="^${name}\$" -fuzztime="${time}" "${pkg}"
done < scripts/fuzz-targets.txt
