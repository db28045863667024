#!/usr/bin/env bash
# labels: integration;iri
# An iri-only (pen register) warrant: no content may leave the IAP. cc.pcap holds no record,
# hi3.ber is empty, iri.csv has one row per matched packet with the addresses, ports and
# protocol mkpcap expects, hi2.ber passes etsi-check, and the decrypted IAP->mediator stream
# (dumpcap on lo, IAP key log, tshark with ../shared/tools/x2x3.lua) holds X2 PDUs and not one X3.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
it_init iri_only
it_need tshark dumpcap

pki=$WORK/pki
it_pki "$pki"
targets=(10.0.0.1 2001:db8:1::/64)
targs=()
for t in "${targets[@]}"; do targs+=(--target "$t"); done
"$IT_MKPCAP" --link ether --pad --count 300 --seed 7 "${targs[@]}" -o "$WORK/in.pcap" \
	--expect "$WORK/expect.pcap" --expect-iri "$WORK/expect-iri.csv" >"$WORK/mkpcap.out"
matched=$(it_kv "$WORK/mkpcap.out" matched)
"$IT_MKPCAP" --count 0 -o "$WORK/none-in.pcap" --expect "$WORK/empty.pcap" >/dev/null

out=$WORK/out
mkdir -p "$out"
it_port hi2; it_port hi3; it_port xp; it_port tp
it_mediator_conf "$WORK/mediator.yaml" --pki "$pki" --x2x3 "$xp" --tasking "$tp" \
	--hi2 "$hi2" --hi3 "$hi3" --mode iri-only "${targs[@]}"
it_start_collector col "$pki" "$hi2" "$hi3" "$out"
it_start_mediator med "$WORK/mediator.yaml" "$xp" "$tp"
it_capture_start cap "$xp" "$WORK/x2x3.pcapng"
it_run_iap iap "$pki" "$WORK/in.pcap" "$xp" "$tp" --keylog "$WORK/keys.log"
[[ $IT_RC == 0 ]] || it_fail "lawtap-iap exited $IT_RC"
it_grep_log "$WORK/iap.log" 'key ?log|keylog|SSLKEYLOGFILE' "the IAP warns about --keylog"
it_capture_stop cap "$WORK/x2x3.pcapng" "$xp"
it_stop med 60
[[ $IT_RC == 0 ]] || it_fail "lawtap-mediator exited $IT_RC after SIGTERM"
it_stop col 30
[[ $IT_RC == 0 ]] || it_fail "lawtap-collector exited $IT_RC after SIGTERM"

st=$WORK/iap.stats
x2=$(it_kv "$st" x2_sent)
x3=$(it_kv "$st" x3_sent)
m=$(it_kv "$st" matched)
[[ $m == "$matched" ]] || it_fail "IAP matched=$m, mkpcap expects $matched"
[[ $x3 == 0 ]] || it_fail "IAP sent $x3 X3 PDUs for an iri-only warrant"
[[ $x2 == "$matched" ]] || it_fail "IAP sent x2_sent=$x2, expected one per matched packet ($matched)"

# No content on HI3, nothing in cc.pcap.
[[ ! -s $out/hi3.ber ]] || it_fail "hi3.ber is not empty ($(stat -c %s "$out/hi3.ber") bytes)"
[[ -f $out/cc.pcap ]] || it_fail "the collector wrote no cc.pcap"
"$IT_PCAPCMP" "$WORK/empty.pcap" "$out/cc.pcap" >"$WORK/pcapcmp.out" 2>&1 || {
	cat "$WORK/pcapcmp.out" >&2
	it_fail "cc.pcap is not an empty capture"
}
hi3n=$(it_summary_total "$out" hi3_records)
[[ $hi3n == 0 ]] || it_fail "collector counted hi3_records=$hi3n"

# One IRI row per matched packet, same facts, same order.
it_iri_rows "$out/iri.csv" >"$WORK/iri-rows.csv"
if ! diff -u "$WORK/expect-iri.csv" "$WORK/iri-rows.csv" >"$WORK/iri.diff"; then
	head -n 20 "$WORK/iri.diff" >&2
	it_fail "iri.csv rows differ from mkpcap's expectation (see iri.diff)"
fi
it_etsi_check --quiet --canonical --contiguous "$out/hi2.ber"
it_etsi_check --quiet --allow-empty "$out/hi3.ber"
it_check_summary "$out"

# The wire: X2 PDUs, and not one X3 PDU, from the IAP to the mediator.
it_x2x3_types "$WORK/x2x3.pcapng" "$xp" "$WORK/keys.log" to >"$WORK/x2x3-types.txt"
nx2=$(grep -cx 1 "$WORK/x2x3-types.txt" || true)
nx3=$(grep -cx 2 "$WORK/x2x3-types.txt" || true)
[[ $nx3 == 0 ]] || it_fail "the capture holds $nx3 X3 PDUs from the IAP"
[[ $nx2 == "$x2" ]] || it_fail "the capture holds $nx2 X2 PDUs, the IAP reports x2_sent=$x2"
# ... and every X2 PDU carries no payload (the header facts travel in attributes).
tshark -r "$WORK/x2x3.pcapng" -X lua_script:"$IT_X2X3_LUA" -X lua_script1:"$xp" \
	-o tls.keylog_file:"$WORK/keys.log" -d tcp.port=="$xp",tls -Y "5gli && tcp.dstport == $xp" \
	-T fields -e li5g.type -e li5g.pl -E occurrence=a -E aggregator=, 2>/dev/null |
	awk -F'\t' '{ n = split($1, t, ","); split($2, l, ",");
		for (i = 1; i <= n; i++) if (t[i] == 1 && l[i] != 0) bad++ } END { print bad + 0 }' \
	>"$WORK/x2-with-payload.txt"
[[ $(cat "$WORK/x2-with-payload.txt") == 0 ]] ||
	it_fail "$(cat "$WORK/x2-with-payload.txt") X2 PDUs carry a payload"
bad=$(it_x2x3_malformed "$WORK/x2x3.pcapng" "$xp" "$WORK/keys.log")
[[ $bad == 0 ]] || it_fail "$bad malformed frames in the X2/X3 capture"
it_pass "matched=$matched x2 on the wire=$nx2 x3 on the wire=0"
