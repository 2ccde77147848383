#!/bin/sh
# Checks the libraries and tools certtrace builds and tests with; installs the
# missing ones from Debian when run as root, else prints the apt-get line.
#   sh tests/deps.sh        what make run and make test need
#   sh tests/deps.sh deb    also what make deb and make test-deb need (the Debian
#                           packaging tools: kept apart so make run does not pull them)
set -u
mode=${1:-}
need=""
for spec in libpcap:libpcap-dev libssl:libssl-dev libcrypto:libssl-dev libndpi:libndpi-dev \
            jansson:libjansson-dev criterion:libcriterion-dev; do
	pc=${spec%%:*}; pkg=${spec#*:}
	pkg-config --exists "$pc" 2>/dev/null || need="$need $pkg"
done
command -v pkg-config >/dev/null 2>&1 || need="pkg-config $need"
command -v cc >/dev/null 2>&1 || need="$need gcc"
command -v make >/dev/null 2>&1 || need="$need make"
# Tools the test suites drive: tshark (corpus comparison), openssl, tcpdump,
# ip (sample captures and the live test), python3 (corpus comparison).
command -v tshark >/dev/null 2>&1 || need="$need tshark"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
command -v tcpdump >/dev/null 2>&1 || need="$need tcpdump"
command -v editcap >/dev/null 2>&1 || need="$need wireshark-common"
command -v ip >/dev/null 2>&1 || need="$need iproute2"
command -v python3 >/dev/null 2>&1 || need="$need python3"
# The live and sample-regeneration tests set route_localnet in their namespaces.
command -v sysctl >/dev/null 2>&1 || need="$need procps"
# The manual page test (make test-field) renders certtrace.1 with groff.
command -v groff >/dev/null 2>&1 || need="$need groff-base"
# make test-field traces certtrace -Z with strace: every open before setuid.
command -v strace >/dev/null 2>&1 || need="$need strace"
# make test-unitfile: systemd-analyze verify/security and systemd-sysusers on
# the unit (none of it needs systemd running), logrotate on the snippet.
command -v systemd-analyze >/dev/null 2>&1 || need="$need systemd"
command -v logrotate >/dev/null 2>&1 || need="$need logrotate"
if [ "$mode" = deb ]; then
	# dpkg-buildpackage checks Build-Depends, build-essential among them, with
	# dpkg-checkbuilddeps; dh comes from debhelper (compat 13); fakeroot gives
	# the files root ownership in the package without building as root.
	command -v dpkg-buildpackage >/dev/null 2>&1 || need="$need dpkg-dev"
	command -v dh >/dev/null 2>&1 || need="$need debhelper"
	command -v lintian >/dev/null 2>&1 || need="$need lintian"
	command -v fakeroot >/dev/null 2>&1 || need="$need fakeroot"
	dpkg-query -W -f='${Status}' build-essential 2>/dev/null | grep -q 'ok installed' ||
		need="$need build-essential"
fi
need=$(echo $need | tr ' ' '\n' | sort -u | tr '\n' ' ')
[ -z "${need# }" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "deps: installing$need" >&2
	export DEBIAN_FRONTEND=noninteractive
	echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections 2>/dev/null || true
	apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $need >/dev/null || {
		echo "deps: apt-get install failed for:$need" >&2; exit 1; }
	exit 0
fi
echo "deps: missing:$need" >&2
echo "deps: run as root: apt-get install -y$need" >&2
exit 1
