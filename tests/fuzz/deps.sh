#!/bin/sh
# What `make fuzz` needs besides the build dependencies (tests/deps.sh):
# clang and its libFuzzer/sanitizer runtimes.  Checks by compiling an empty
# target; installs clang-14 and libclang-rt-14-dev from Debian when root,
# else prints the apt-get line.
set -u
cc=${FUZZ_CC:-clang}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
probe() {
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
		> "$tmp/p.c"
	command -v "$cc" >/dev/null 2>&1 &&
	"$cc" -fsanitize=fuzzer,address,undefined -o "$tmp/p" "$tmp/p.c" >/dev/null 2>&1
}
probe && exit 0
need="clang-14 libclang-rt-14-dev"
command -v tshark >/dev/null 2>&1 || need="$need tshark"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "fuzz deps: installing $need" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $need >/dev/null || {
		echo "fuzz deps: apt-get install failed for: $need" >&2; exit 1; }
	command -v "$cc" >/dev/null 2>&1 || [ "$cc" != clang ] || ln -s "$(command -v clang-14)" /usr/local/bin/clang
	probe && exit 0
	echo "fuzz deps: $cc still cannot build a libFuzzer target" >&2
	exit 1
fi
echo "fuzz deps: $cc cannot build a libFuzzer target" >&2
echo "fuzz deps: run as root: apt-get install -y $need" >&2
exit 1
