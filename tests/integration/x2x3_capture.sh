#!/usr/bin/env bash
# labels: integration;x2x3;conformance
# The IAP->mediator stream as a third party sees it: dumpcap on lo captures the X2/X3 port, the
# IAP writes a key log (--keylog, test only), and tshark decodes it with Wireshark's 5gli
# dissector through ../shared/tools/x2x3.lua, exactly as standards.md shows. The PDUs from the
# IAP must number x2_sent + x3_sent + keepalives of the IAP's statistics (no ack, no other
# PDU), the keep-alive acks from the mediator must number the keep-alives, every PDU must be
# version 0.5 with a matching type/format, every X3 PDU must carry the packet's direction (2 to
# target, 3 from target, as mkpcap expects), and no frame may be malformed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
it_init x2x3_capture
it_need tshark dumpcap

pki=$WORK/pki
it_pki "$pki"
"$IT_MKPCAP" --link ether --pad --count 300 --seed 11 --target 10.0.0.1 \
	--target 2001:db8:1::/64 -o "$WORK/in.pcap" --expect "$WORK/expect.pcap" \
	--expect-dir "$WORK/expect-dir.txt" >"$WORK/mkpcap.out"
matched=$(it_kv "$WORK/mkpcap.out" matched)

out=$WORK/out
mkdir -p "$out"
it_port hi2
it_port hi3
it_port xp
it_port tp
it_mediator_conf "$WORK/mediator.yaml" --pki "$pki" --x2x3 "$xp" --tasking "$tp" \
	--hi2 "$hi2" --hi3 "$hi3" --mode full --target 10.0.0.1 --target 2001:db8:1::/64
it_start_collector col "$pki" "$hi2" "$hi3" "$out"
it_start_mediator med "$WORK/mediator.yaml" "$xp" "$tp"
it_capture_start cap "$xp" "$WORK/x2x3.pcapng"
it_run_iap iap "$pki" "$WORK/in.pcap" "$xp" "$tp" --keylog "$WORK/keys.log"
[[ $IT_RC == 0 ]] || it_fail "lawtap-iap exited $IT_RC"
it_capture_stop cap "$WORK/x2x3.pcapng" "$xp"
it_stop med 60
[[ $IT_RC == 0 ]] || it_fail "lawtap-mediator exited $IT_RC after SIGTERM"
it_stop col 30
[[ $IT_RC == 0 ]] || it_fail "lawtap-collector exited $IT_RC after SIGTERM"
[[ -s $WORK/keys.log ]] || it_fail "the IAP wrote no key log"

st=$WORK/iap.stats
x2=$(it_kv "$st" x2_sent)
x3=$(it_kv "$st" x3_sent)
ka=$(it_kv "$st" keepalives)
[[ $x3 == "$matched" ]] || it_fail "IAP x3_sent=$x3, mkpcap matched=$matched"
((ka >= 1)) || it_fail "IAP reports keepalives=$ka: -r ends with a keep-alive"

it_x2x3_types "$WORK/x2x3.pcapng" "$xp" "$WORK/keys.log" to >"$WORK/up-types.txt"
it_x2x3_types "$WORK/x2x3.pcapng" "$xp" "$WORK/keys.log" from >"$WORK/down-types.txt"
up=$(wc -l <"$WORK/up-types.txt")
n1=$(grep -cx 1 "$WORK/up-types.txt" || true)
n2=$(grep -cx 2 "$WORK/up-types.txt" || true)
n3=$(grep -cx 3 "$WORK/up-types.txt" || true)
down=$(wc -l <"$WORK/down-types.txt")
n4=$(grep -cx 4 "$WORK/down-types.txt" || true)
it_log "wire: up=$up (x2=$n1 x3=$n2 keepalive=$n3) down=$down (ack=$n4); IAP: x2=$x2 x3=$x3 keepalives=$ka"
((up > 0)) || it_fail "tshark found no X2/X3 PDU (wrong port or key log?) $(head -c 300 "$WORK/tshark.err")"
[[ $up == $((x2 + x3 + ka)) ]] || it_fail "$up PDUs from the IAP on the wire, it reports x2+x3+keepalives=$((x2 + x3 + ka))"
[[ $n1 == "$x2" && $n2 == "$x3" && $n3 == "$ka" ]] || it_fail "PDU types on the wire do not match the IAP's counts"
[[ $down == "$n4" && $n4 == "$ka" ]] || it_fail "mediator sent $down PDUs ($n4 acks) for $ka keep-alives"

# Version and payload format of every PDU from the IAP (standards.md: send 0.5; X3 format 5/6).
tshark -r "$WORK/x2x3.pcapng" -X lua_script:"$IT_X2X3_LUA" -X lua_script1:"$xp" \
	-o tls.keylog_file:"$WORK/keys.log" -d tcp.port=="$xp",tls -Y "5gli && tcp.dstport == $xp" \
	-T fields -e li5g.ver -e li5g.type -e li5g.pf -e li5g.pd -E occurrence=a -E aggregator=, \
	2>/dev/null >"$WORK/up-fields.txt"
awk -F'\t' '{ n = split($1, v, ","); split($2, t, ","); split($3, f, ",");
	for (i = 1; i <= n; i++) print v[i], t[i], f[i] }' "$WORK/up-fields.txt" | sort | uniq -c \
	>"$WORK/up-kinds.txt"
cat "$WORK/up-kinds.txt" >&2
if awk '$2 != 5 || !(($3 == 2 && ($4 == 5 || $4 == 6)) || ($3 == 3 && $4 == 0) || $3 == 1) { bad = 1 }
	END { exit !bad }' "$WORK/up-kinds.txt"; then
	it_fail "unexpected (version, type, payload format) on the wire (see up-kinds.txt)"
fi
# X3 direction per packet, in order: 2 to target, 3 from target (TS 103 221-2).
awk -F'\t' '{ n = split($2, t, ","); split($4, d, ",");
	for (i = 1; i <= n; i++) if (t[i] == 2) print d[i] }' "$WORK/up-fields.txt" >"$WORK/x3-dir.txt"
sed 's/^toTarget$/2/; s/^fromTarget$/3/' "$WORK/expect-dir.txt" >"$WORK/expect-x3-dir.txt"
diff -q "$WORK/expect-x3-dir.txt" "$WORK/x3-dir.txt" >/dev/null ||
	it_fail "X3 payloadDirection on the wire differs from the expected (x3-dir.txt)"
bad=$(it_x2x3_malformed "$WORK/x2x3.pcapng" "$xp" "$WORK/keys.log")
[[ $bad == 0 ]] || it_fail "$bad malformed frames in the X2/X3 capture"

# What went in came out.
"$IT_PCAPCMP" "$WORK/expect.pcap" "$out/cc.pcap" >"$WORK/pcapcmp.out" 2>&1 || {
	cat "$WORK/pcapcmp.out" >&2
	it_fail "cc.pcap differs from the expected capture"
}
it_pass "$up PDUs from the IAP decoded by tshark (x3=$n2 keepalives=$n3), $n4 acks"
