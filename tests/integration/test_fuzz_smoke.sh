#!/usr/bin/env bash
# Fuzz smoke (issue 6): build the libFuzzer targets (make fuzz: clang, ASan,
# UBSan, libclang-rt's libFuzzer), cut their seed corpora from the captures
# (tests/fuzz/seeds.sh, which also adds the committed regression seeds), and
# run every target for a bounded number of runs over its seeds. Any crash,
# leak, sanitizer report, broken invariant or timeout fails the test. Runs
# the targets as they are: no root, no network, nothing outside the
# repository's .output/ and a temp dir it removes.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"

xf_bound_runtime "${XF_TEST_TIMEOUT:-900}" "$@"
ROOT=$(xf_repo_root)
FUZZ=$ROOT/.output/fuzz
TMP=$(mktemp -d /tmp/xf-fuzz.XXXXXX)
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT

# Runs per target (after its seeds): the slow targets build a pipeline, or
# read a whole capture, per input. -max_total_time only caps a slow machine.
declare -A RUNS=([frame]=20000 [dns]=20000 [event]=3000 [config]=5000 [replay]=400)
CAP=${XF_FUZZ_CAP:-90}

command -v clang >/dev/null || xf_die "clang is missing: make deps"
ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1 ||
	xf_die "libFuzzer's runtime is missing (libclang-rt-dev): make deps"

build() { nice make -C "$ROOT" -j2 --no-print-directory fuzz >"$TMP/build.log" 2>&1 || { tail -30 "$TMP/build.log"; return 1; }; }
xf_check "make fuzz builds every target" build || { xf_summary; exit 1; }
xf_check "seed corpora from the captures" "$ROOT/tests/fuzz/seeds.sh"

# fuzz TARGET: bounded run over the seeds into a scratch corpus; fails on a
# non-zero exit or any report in the log, and names the input that did it.
fuzz() {
	local t=$1 rc=0 dict=()
	mkdir -p "$TMP/corpus-$t" "$TMP/art-$t"
	[[ $t == config ]] && dict=(-dict="$FUZZ/seeds/config.dict")
	(cd "$TMP" && nice "$FUZZ/fuzz_$t" "${dict[@]}" -runs="${RUNS[$t]}" \
		-max_total_time="$CAP" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$TMP/art-$t/" "$TMP/corpus-$t" "$FUZZ/seeds/$t") \
		>"$TMP/$t.log" 2>&1 || rc=$?
	grep -E "INITED|DONE" "$TMP/$t.log" | sed 's/^/    /'
	if ((rc)) || grep -qE "ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|runtime error:|invariant broken" "$TMP/$t.log"; then
		grep -E -A12 "ERROR|runtime error|invariant broken" "$TMP/$t.log" | head -40
		ls "$TMP/art-$t"
		echo "    reproduce: $FUZZ/fuzz_$t $(ls "$TMP/art-$t" | head -1) (artifacts kept in .output/fuzz/crashes/)"
		mkdir -p "$FUZZ/crashes" && cp "$TMP/art-$t"/* "$FUZZ/crashes/" 2>/dev/null || true
		return 1
	fi
	# it ran at all: at least its seeds
	grep -qE "^#[0-9]+[[:space:]]+(DONE|INITED)" "$TMP/$t.log"
}

for t in frame dns event config replay; do
	[[ -x $FUZZ/fuzz_$t ]] || { xf_check "fuzz_$t exists" false; continue; }
	xf_check "fuzz_$t: ${RUNS[$t]} runs, no crash, leak or report" fuzz "$t"
done
xf_summary
