#!/usr/bin/env bash
# scripts/deps.sh: installs the Debian 12 packages lawtap needs, only those missing.
# Usage: scripts/deps.sh [build|test]   (test adds tshark and Erlang for the conformance checks)
set -euo pipefail
want=(build-essential cmake pkg-config asn1c libssl-dev openssl libpcap-dev libyaml-dev
      libsqlite3-dev libcmocka-dev libevent-dev libjansson-dev libcurl4-openssl-dev)
if [ "${1:-build}" = test ]; then
	want+=(tshark erlang-base erlang-asn1 tcpdump clang-format jq sqlite3 iproute2 util-linux)
fi
missing=()
for p in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing packages and not root: run as root or install: ${missing[*]}" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
else
	echo "deps: all packages present"
fi
