#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Seed corpora for the fuzz targets under .output/fuzz/seeds/<target>/:
# packets, DNS payloads and ring buffer records cut from pcaps/*.pcap and the
# public captures (../shared/data/pcaps-external/), whole small captures for
# replay, exfilter.example.yaml and the committed seeds (tests/fuzz/seeds/)
# for the config loader, and the config key dictionary. Run after `make fuzz`
# (it needs .output/fuzz/mkseeds); regenerates from scratch, no root.
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/../.."

OUT=.output/fuzz/seeds
EXT=${XF_PCAPS_EXTERNAL:-../shared/data/pcaps-external}
[[ -x .output/fuzz/mkseeds ]] || { echo "seeds.sh: run make fuzz first" >&2; exit 1; }

captures=(pcaps/*.pcap)
if [[ -d $EXT ]]; then
	captures+=("$EXT"/*.pcap)
else
	echo "seeds.sh: note: no public captures at $EXT, pcaps/ only" >&2
fi
rm -rf "$OUT"
.output/fuzz/mkseeds "$OUT" "${captures[@]}"
mkdir -p "$OUT/config"
cp exfilter.example.yaml "$OUT/config/"
for d in tests/fuzz/seeds/*/; do
	t=$(basename "$d")
	mkdir -p "$OUT/$t"
	files=("$d"*)
	[[ ${#files[@]} -eq 0 ]] || cp "${files[@]}" "$OUT/$t/"
done
for t in "$OUT"/*/; do
	printf '  %-8s %5d seeds\n' "$(basename "$t")" "$(find "$t" -type f | wc -l)"
done
