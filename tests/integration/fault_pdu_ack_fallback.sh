#!/usr/bin/env bash
# labels: integration;fault
# ack_mode pdu-ack with a collector that declines PDU acknowledgement (lawtap-collector
# --no-pdu-ack), HI3 cut now and then by tests/tools/ltproxy: the mediator must log the
# fallback ("the LEA declined pDUAcknowledgement: keepalive mode"), then on later connections
# skip the negotiation (fallback memory), confirm with keep-alives as ack_mode keepalive does,
# and still deliver exactly (cc.pcap equals the expected capture, etsi-check, no gap, iri.csv
# exact). The collector answered no pDUAcknowledgementRequest (no pdu_acks= in its summary) and
# about one keep-alive per MiB of HI3 traffic; the mediator's exit statistics show
# pdu_ack_requests=0, keep-alives and no ack=pdu-ack for HI3. 30,000 packets (10,000 under
# sanitizers).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/fault_common.sh"
it_init fault_pdu_ack_fallback
PROXY=$IT_BUILD/tests/ltproxy
[[ -x $PROXY ]] || it_fail "$PROXY is not built"

count=30000 speed=100 cut=2000
if ((IT_SLOW > 1)); then count=10000 speed=30 cut=2500; fi

fc_setup "$count" 47
fc_via_proxies
fc_lea_lines "ack_mode: pdu-ack"

fc_collector_opts --no-pdu-ack
it_start proxy3 "$PROXY" "$P3" "127.0.0.1:$HI3" --cut-every-ms "$cut" --control "$WORK/p3.ctl"
it_start proxy2 "$PROXY" "$P2" "127.0.0.1:$HI2"
it_wait_port proxy3 "$P3"
it_wait_port proxy2 "$P2"
fc_start_mediator

fc_start_iap --pace --speed "$speed" --keep-times
it_wait_exit iap 300
[[ $IT_RC == 0 ]] || it_fail "lawtap-iap exited $IT_RC"
x3=$(it_kv "$WORK/iap.stats" x3_sent)
[[ $x3 == "$MATCHED" ]] || it_fail "IAP x3_sent=$x3, mkpcap matched=$MATCHED"

it_wait_for "the collector to hold all $MATCHED CC records" 180 fc_have_all
echo calm >"$WORK/p3.ctl"
it_wait_log "$WORK/proxy3.log" 'calm' "proxy3 to stop cutting"
cuts3=$(it_count_lines "$WORK/proxy3.log" '^ltproxy: cut ')
it_log "proxy cuts: hi3=$cuts3"
((cuts3 >= 1)) || it_fail "the HI3 proxy never cut"

fallback_check() {
	it_stop proxy3 10
	it_stop proxy2 10
	local dec skip neg ka
	dec=$(it_count_lines "$WORK/med.log" 'lea lea1 hi3: the LEA declined pDUAcknowledgement: keepalive mode')
	((dec >= 1)) || it_fail "mediator log: no fallback line for HI3"
	skip=$(it_count_lines "$WORK/med.log" 'lea lea1 hi3: pdu-ack not negotiated on this connection')
	it_log "HI3: declined $dec time(s), negotiation skipped on $skip later connection(s)"
	((skip >= 1)) || it_fail "mediator log: the fallback was not remembered after a cut"
	neg=$(it_count_lines "$WORK/med.log" 'pdu-ack negotiated')
	((neg == 0)) || it_fail "mediator log: pdu-ack negotiated $neg time(s) with a declining LEA"
	! grep -qE '^total .* pdu_acks=' "$WORK/out/summary.txt" ||
		it_fail "collector summary counts pdu_acks with --no-pdu-ack"
	ka=$(grep -oE 'stopped: .*keepalives=[0-9]+' "$WORK/col.log" | tail -n 1 | sed 's/.*keepalives=//')
	# keepalive mode confirms each MiB written with a keep-alive (HO_CONFIRM_BYTES; the count
	# restarts at each connection, so a cut may cost one); pdu-ack mode would send none
	local mib want
	mib=$(($(stat -c %s "$WORK/out/hi3.ber") / 1048576))
	want=$((mib - cuts3 - 1))
	((want >= 1)) || want=1
	it_log "collector keep-alives: $ka (hi3.ber holds $mib MiB: at least $want expected)"
	((ka >= want)) || it_fail "collector saw only $ka keep-alives: traffic not confirmed by keep-alives"
	# the mediator's exit statistics: no pDUAcknowledgementRequest, keep-alives confirming,
	# never ack=pdu-ack (keepalive, or down when a cut came just before the drain)
	fc_exit_stats 3
	it_log "mediator exit statistics: $FC_LINE"
	((FC_REQ == 0 && FC_RESP == 0)) ||
		it_fail "exit statistics hi3: pdu-ack requests or responses with a declining LEA"
	grep -qE ' ack=(keepalive|down)( |$)' <<<"$FC_LINE" || it_fail "exit statistics hi3: not in the keepalive fallback"
	grep -qE ' keepalives=[1-9]' <<<"$FC_LINE" || it_fail "exit statistics hi3: no keep-alives counted"
}
FC_EXTRA_CHECK=fallback_check
fc_stop_and_check "pdu-ack declined (--no-pdu-ack), keepalive fallback, $count packets, hi3 cuts=$cuts3"
