#!/usr/bin/env bash
# labels: integration;conformance
# Interop proof for lib/x2x3.c with a decoder we did not write: x2x3_pcapgen writes a TCP
# stream of X2/X3 PDUs encoded by lt_x2x3_encode (X3 IPv4/IPv6, X2 payloadFormat 4 with
# payloadLength 0 and attributes 7-16, keep-alive, ack; some PDUs split across segments), and
# tshark's own 5gli dissector (through ../shared/tools/x2x3.lua, which reassembles) must decode
# every PDU written, with the expected type/format/length/XID/correlation, and flag nothing as
# malformed or as an expert error/warning.
set -euo pipefail
: "${LAWTAP_SOURCE_DIR:?}" "${LAWTAP_BUILD_DIR:?}"

GEN=$LAWTAP_BUILD_DIR/tests/x2x3_pcapgen
LUA=${LAWTAP_SHARED_DIR:-$LAWTAP_SOURCE_DIR/../shared}/tools/x2x3.lua
PORT=19321
XID=12345678-9abc-4def-8123-456789abcdef

command -v tshark >/dev/null || { echo "FAIL: tshark is not installed"; exit 1; }
[[ -x $GEN ]] || { echo "FAIL: $GEN not built"; exit 1; }
[[ -r $LUA ]] || { echo "FAIL: $LUA missing"; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

ts() { # tshark over the capture with the reassembling wrapper; stderr kept for failures
	tshark -r "$CAP" -X lua_script:"$LUA" -d tcp.port=="$PORT",x2x3 "$@" 2>>"$TMP/tshark.err"
}

fail() {
	echo "FAIL: $*"
	[[ -s $TMP/tshark.err ]] && grep -v 'Running as user' "$TMP/tshark.err" | head -20
	exit 1
}

check() { # check NAME GEN-ARGS...
	local name=$1
	shift
	CAP=$TMP/$name.pcap
	local n
	n=$("$GEN" -p "$PORT" "$@" "$CAP") || fail "$name: x2x3_pcapgen failed"
	[[ $n =~ ^[0-9]+$ && $n -gt 0 ]] || fail "$name: x2x3_pcapgen printed '$n'"

	# 1. Nothing malformed, no expert error or warning. (tshark 4.0.17 crashes on a malformed
	# 5gli frame when checksum validation is on, so checksums get a pass of their own.)
	local bad
	bad=$(ts -Y '_ws.malformed || _ws.expert.group == "Malformed" || _ws.expert.severity >= "Warning"') ||
		fail "$name: tshark exited with status $?"
	[[ -z $bad ]] || fail "$name: tshark flags frames:"$'\n'"$bad"
	bad=$(ts -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE \
		-Y 'ip.checksum.status == 0 || tcp.checksum.status == 0 || udp.checksum.status == 0 ||
		    icmp.checksum.status == 0 || icmpv6.checksum.status == 0 || _ws.expert.severity >= "Warning"') ||
		fail "$name: tshark (checksums) exited with status $?"
	[[ -z $bad ]] || fail "$name: bad checksums:"$'\n'"$bad"

	# 2. One line per PDU: type, format, payload length, XID, correlation ID.
	ts -Y 5gli -T fields -E separator=';' -e li5g.type -e li5g.pf -e li5g.pl -e li5g.xid \
		-e li5g.cid >"$TMP/fields" || fail "$name: tshark exited with status $?"
	awk -F';' '{
			nt = split($1, t, ","); split($2, f, ","); split($3, l, ",");
			split($4, x, ","); split($5, c, ",");
			for (i = 1; i <= nt; i++) print t[i], f[i], l[i], x[i], c[i] }' "$TMP/fields" >"$TMP/pdus"
	local seen
	seen=$(wc -l <"$TMP/pdus")
	[[ $seen -eq $n ]] || fail "$name: tshark decoded $seen 5gli PDUs, $n were written"

	# 3. Expected mix (x2x3_pcapgen cycles X3v4 X3v6 X2 KA X3v4 X3v6 X2 ACK).
	local i=0 want_x2=0 want_x3=0 want_ka=0 want_ack=0
	for ((i = 0; i < n; i++)); do
		case $((i % 8)) in
		0 | 1 | 4 | 5) want_x3=$((want_x3 + 1)) ;;
		2 | 6) want_x2=$((want_x2 + 1)) ;;
		3) want_ka=$((want_ka + 1)) ;;
		7) want_ack=$((want_ack + 1)) ;;
		esac
	done
	local got_x2 got_x3 got_ka got_ack
	got_x2=$(awk -v x="$XID" '$1 == 1 && $2 == 4 && $3 == 0 && $4 == x && $5 == "000000000000002a"' "$TMP/pdus" | wc -l)
	got_x3=$(awk -v x="$XID" '$1 == 2 && ($2 == 5 || $2 == 6) && $3 > 0 && $4 == x && $5 == "000000000000002a"' "$TMP/pdus" | wc -l)
	got_ka=$(awk '$1 == 3 && $2 == 0 && $3 == 0' "$TMP/pdus" | wc -l)
	got_ack=$(awk '$1 == 4 && $2 == 0 && $3 == 0' "$TMP/pdus" | wc -l)
	[[ $got_x2 -eq $want_x2 && $got_x3 -eq $want_x3 && $got_ka -eq $want_ka && $got_ack -eq $want_ack ]] ||
		fail "$name: X2 $got_x2/$want_x2 X3 $got_x3/$want_x3 keep-alive $got_ka/$want_ka ack $got_ack/$want_ack"

	# 4. The X2 header facts are decoded as attributes (IPv4 and IPv6 variants).
	local facts
	facts=$(ts -Y 'li5g.type == 1' -T fields -E separator=';' -E occurrence=f -e li5g.srcip -e li5g.dstip \
		-e li5g.srcipv6 -e li5g.dstipv6 -e li5g.srcport -e li5g.dstport -e li5g.ipproto |
		sort -u) || fail "$name: tshark exited with status $?"
	grep -q '^192.0.2.10;198.51.100.20;;;50000;443;6$' <<<"$facts" ||
		fail "$name: IPv4 X2 attributes not decoded as sent: $facts"
	if [[ $n -gt 6 ]]; then
		grep -q '^;;2001:db8::a;2001:db8:1::14;50000;443;6$' <<<"$facts" ||
			fail "$name: IPv6 X2 attributes not decoded as sent: $facts"
	fi
	echo "ok $name: $n PDUs written, $seen decoded by tshark 5gli (X2 $got_x2, X3 $got_x3, keep-alive $got_ka, ack $got_ack)"
}

check split -n 64
check single -n 16 -s
check seqwrap -n 24 -q 0xfffffff4
