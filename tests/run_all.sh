#!/usr/bin/env bash
# Run every exfilter test: style (clang-format, `make check`), unit (cmocka,
# no root), BPF (BPF_PROG_TEST_RUN on the real objects) and integration
# (netns + veth, real unbound, dig, iodine).
# The BPF and integration tests need root and fail, not skip, without it.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
failed_names=()

run() {
	local name=$1
	shift
	echo "=== $name"
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failed_names+=("$name")
	fi
}

if [ "$(id -u)" -ne 0 ]; then
	echo "tests need root: BPF programs are loaded into the kernel and test hosts live in network namespaces (run: sudo make test)" >&2
	exit 1
fi

run "style:clang-format" make --no-print-directory check
for t in .output/tests/test_*; do
	run "unit:$(basename "$t")" "$t"
done
run "bpf:bpf_test_run" .output/tests/bpf_test_run
run "pcaps:test_tools" python3 pcaps/tools/test_tools.py
for t in tests/integration/test_*.sh; do
	run "integration:$(basename "$t" .sh)" bash "$t"
done

echo
[ "$failed" -eq 0 ] || echo "failed: ${failed_names[*]}"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
