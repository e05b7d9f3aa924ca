#!/bin/sh
# Installs the Debian packages corscope needs, only those missing.
# Usage: scripts/install-deps.sh build|test|fleet
# Idempotent: does nothing (and needs no root) when everything is present.
set -e
build_pkgs="gcc make pkg-config libpcap-dev libndpi-dev libglib2.0-dev libssl-dev libcap-ng-dev libnghttp2-dev libcurl4-openssl-dev"
build_pkgs="$build_pkgs libpsl-dev publicsuffix"   # report/site.c: registrable domains (same-site)
test_pkgs="libcunit1-dev libhttp-parser-dev tcpdump python3 curl iproute2 util-linux groff-base time libcap2-bin"
test_pkgs="$test_pkgs tshark"   # tests/e2e/tunnels.sh compares with tshark
test_pkgs="$test_pkgs clang-format"   # make check-format: the committed .clang-format
test_pkgs="$test_pkgs openssl"   # tests/e2e/tls_tshark.sh: openssl s_client/s_server and test certificates
test_pkgs="$test_pkgs python3-cryptography python3-hpack"   # make bench: tools/benchwire.py (TLS 1.3, HPACK)
test_pkgs="$test_pkgs nftables"   # make check-browser: conn-timeout drops SYNs in its namespace
test_pkgs="$test_pkgs procps gdb"   # tests/run-all.sh: a hung test's processes and their stacks

case "${1:-build}" in
  build) want="$build_pkgs" ;;
  test)  want="$build_pkgs $test_pkgs" ;;
  fleet) want="clickhouse-server" ;;   # make check-fleet
  *) echo "usage: $0 build|test|fleet" >&2; exit 1 ;;
esac

missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing with apt-get (this takes a few minutes):$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root (or sudo) to install:$missing" >&2; exit 1; }
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
