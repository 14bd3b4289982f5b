#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# `make eval`: replay the corpus (pcaps/*.pcap, labelled by pcaps/truth.txt)
# and the public captures (../shared/data/pcaps-external/*.pcap, labelled by
# tests/eval/external-truth.txt) through `exfilter replay --eval`, one
# process per capture, then print the detection table and the quality gate
# (tests/eval/evaluate.py). Exit status: 0 when the gate passes, 1 when it
# fails or the corpus is missing.
#
# One capture per replay: each capture starts its own clock and flow table,
# so "time and queries from the first query" mean the same thing for every
# tool, and captures recorded at different times (or sharing a client
# address) never share a flow or a tick.
#
# The default configuration is used (no --config): what ships is what is
# measured. Needs no root.
#
#   tests/eval/run.sh [--markdown] [--keep]
#   XF_EVAL_PCAPS=DIR      corpus directory (default: pcaps/ of this checkout)
#   XF_EVAL_EXTERNAL=DIR   public captures (default: ../shared/data/pcaps-external)
#   XF_EVAL_OUT=DIR        keep the per-capture TSV, alerts and logs there
#   XF_EVAL_REPLAY_ARGS="--set KEY=VALUE ..."  extra replay options, to explore
#                          a tuning; printed in the header. The gate's verdict
#                          (tests/integration/test_eval.sh) uses the defaults.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
EXFILTER=$ROOT/.output/exfilter
PCAPS=${XF_EVAL_PCAPS:-$ROOT/pcaps}
EXT=${XF_EVAL_EXTERNAL:-$ROOT/../shared/data/pcaps-external}
EXT_TRUTH=$ROOT/tests/eval/external-truth.txt
ARGS=()
KEEP=0
for a in "$@"; do
	case $a in
	--markdown) ARGS+=(--markdown) ;;
	--keep) KEEP=1 ;;
	*)
		echo "usage: $0 [--markdown] [--keep]" >&2
		exit 2
		;;
	esac
done

die() {
	echo "eval: $*" >&2
	exit 1
}

[[ -x $EXFILTER ]] || die "build first: make"
command -v python3 >/dev/null || die "python3 missing (make deps)"
shopt -s nullglob
corpus=("$PCAPS"/*.pcap)
if [[ ! -r $PCAPS/truth.txt || ${#corpus[@]} -eq 0 ]]; then
	die "pcaps/ missing: build it with sudo pcaps/build.sh (looked in $PCAPS for *.pcap and truth.txt)"
fi
external=("$EXT"/*.pcap)
((${#external[@]})) || die "public captures missing: $EXT/*.pcap"

if [[ -n ${XF_EVAL_OUT:-} ]]; then
	OUT=$XF_EVAL_OUT
	mkdir -p "$OUT"
else
	OUT=$(mktemp -d /tmp/xf-eval.XXXXXX)
	((KEEP)) || trap 'rm -rf "$OUT"' EXIT
fi

# replay_one FILE TRUTH TAG: FILE's evaluation summary into $OUT/TAG.tsv
replay_one() {
	local f=$1 truth=$2 tag=$3 rc=0
	# shellcheck disable=SC2086 # word splitting of the extra options is meant
	"$EXFILTER" replay "$f" --truth "$truth" --eval "$OUT/$tag.tsv" ${XF_EVAL_REPLAY_ARGS:-} \
		>"$OUT/$tag.jsonl" 2>"$OUT/$tag.err" </dev/null || rc=$?
	if ((rc)); then
		echo "eval: exfilter replay $f failed (exit $rc):" >&2
		cat "$OUT/$tag.err" >&2
		exit 1
	fi
}

t0=$(date +%s.%N)
for f in "${corpus[@]}"; do
	replay_one "$f" "$PCAPS/truth.txt" "corpus.$(basename "$f" .pcap)"
done
for f in "${external[@]}"; do
	replay_one "$f" "$EXT_TRUTH" "external.$(basename "$f" .pcap)"
done
t1=$(date +%s.%N)

echo "exfilter eval, $(date -u +%F): ${#corpus[@]} corpus captures ($PCAPS), ${#external[@]} public ($EXT)"
echo "command: for each capture: exfilter replay FILE --truth T --eval FILE.tsv" \
	"${XF_EVAL_REPLAY_ARGS:-(default config)};" \
	"replay took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
((KEEP)) && echo "per-capture outputs: $OUT"
rc=0
python3 "$ROOT/tests/eval/evaluate.py" "${ARGS[@]}" \
	--truth "$PCAPS/truth.txt" --truth "$EXT_TRUTH" "$OUT"/*.tsv || rc=$?
exit "$rc"
