#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Long fuzz runs, one target at a time (nice, one process each), for
# BENCHMARKS.md: tests/fuzz/long.sh [SECONDS=300] [TARGET...]. The corpus
# grows in .output/fuzz/corpus/TARGET (kept between runs), logs and any
# crash go to .output/fuzz/long/TARGET*. Run `make fuzz` and
# tests/fuzz/seeds.sh first. Prints each target's final figures; exits
# non-zero when a target crashed.
set -uo pipefail
cd "$(dirname "$0")/../../.output/fuzz" || { echo "long.sh: run make fuzz first" >&2; exit 1; }

secs=${1:-300}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(frame dns event config replay)
bad=0
for t in "${targets[@]}"; do
	mkdir -p "corpus/$t" "long/$t"
	dict=()
	[[ $t == config ]] && dict=(-dict=../../seeds/config.dict)
	(cd "long/$t" && nice "../../fuzz_$t" "${dict[@]}" -max_total_time="$secs" -timeout=30 \
		-rss_limit_mb=2048 -print_final_stats=1 "../../corpus/$t" "../../seeds/$t") \
		>"long/$t.log" 2>&1
	rc=$?
	printf '%-7s exit %d  %s  corpus %d files\n' "$t" "$rc" \
		"$(grep -E '^#[0-9]+[[:space:]]+DONE' "long/$t.log" | tail -1)" "$(ls "corpus/$t" | wc -l)"
	((rc == 0)) || { bad=1; grep -E -m3 "ERROR|runtime error|invariant" "long/$t.log"; }
done
exit $bad
