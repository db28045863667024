#!/usr/bin/env bash
# labels: integration;fault
# An LEA in ack_mode pdu-ack (docs/pdu-ack.md), seeded from the config file into the store,
# while tests/tools/ltproxy cuts its HI3 link again and again (HI2 now and then) as the IAP
# replays 100,000 packets (30,000 under sanitizers). On every connection the mediator sends an
# optionRequest {pDUAcknowledgement}, the collector accepts, and from then on
# pDUAcknowledgementRequests (answered once the collector has flushed the records before them)
# confirm what was written instead of keep-alives; after a cut the unconfirmed records are sent
# again and the collector drops the duplicates. Checked: cc.pcap equals mkpcap's expected
# capture, hi2.ber/hi3.ber pass etsi-check --canonical --contiguous, no gap, iri.csv exact
# (fc_stop_and_check); the mediator logged the negotiation on HI3 more than once (once per
# connection: it negotiated again after cuts) and never fell back to keep-alives; the
# collector's summary counts pdu_acks > 0 and it saw only a few keep-alives (none confirming
# traffic: keepalive mode would send one per MiB, dozens here); the mediator's exit statistics
# count pdu_ack_requests and pdu_ack_responses > 0 on both HIs (responses <= requests: those
# outstanding at a cut are never answered), never ack=keepalive.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/fault_common.sh"
it_init fault_pdu_ack
PROXY=$IT_BUILD/tests/ltproxy
[[ -x $PROXY ]] || it_fail "$PROXY is not built"

# mkpcap spreads 100,000 packets over ~2,000 s: at 200x ~10 s of replay.
count=100000 speed=200 cut=1500
if ((IT_SLOW > 1)); then count=30000 speed=60 cut=2500; fi

fc_setup "$count" 43
fc_via_proxies
fc_lea_lines "ack_mode: pdu-ack"
grep -q '^    ack_mode: pdu-ack' "$WORK/mediator.yaml" || it_fail "mediator.yaml: no ack_mode"

fc_collector
it_start proxy3 "$PROXY" "$P3" "127.0.0.1:$HI3" --cut-every-ms "$cut" --control "$WORK/p3.ctl"
it_start proxy2 "$PROXY" "$P2" "127.0.0.1:$HI2" --cut-every-ms 3000 --control "$WORK/p2.ctl"
it_wait_port proxy3 "$P3"
it_wait_port proxy2 "$P2"
fc_start_mediator

# The seeded store carries the LEA's ack mode (schema version 4).
store=$WORK/state/lawtap.db
[[ -f $store ]] || it_fail "no store at $store"
got=$(sqlite3 "file:$store?mode=ro" "SELECT ack_mode || '/' || pdu_ack_strict FROM leas")
[[ $got == "pdu-ack/0" ]] || it_fail "store: lea ack_mode/pdu_ack_strict=$got, expected pdu-ack/0"

fc_start_iap --pace --speed "$speed" --keep-times
it_wait_exit iap 300
[[ $IT_RC == 0 ]] || it_fail "lawtap-iap exited $IT_RC"
x3=$(it_kv "$WORK/iap.stats" x3_sent)
[[ $x3 == "$MATCHED" ]] || it_fail "IAP x3_sent=$x3, mkpcap matched=$MATCHED"

it_wait_for "the collector to hold all $MATCHED CC records" 180 fc_have_all
echo calm >"$WORK/p3.ctl"
echo calm >"$WORK/p2.ctl"
it_wait_log "$WORK/proxy3.log" 'calm' "proxy3 to stop cutting"
it_wait_log "$WORK/proxy2.log" 'calm' "proxy2 to stop cutting"
cuts3=$(it_count_lines "$WORK/proxy3.log" '^ltproxy: cut ')
cuts2=$(it_count_lines "$WORK/proxy2.log" '^ltproxy: cut ')
it_log "proxy cuts: hi3=$cuts3 hi2=$cuts2"
((cuts3 >= 3)) || it_fail "the HI3 proxy cut only $cuts3 time(s)"

pdu_check() {
	it_stop proxy3 10
	it_stop proxy2 10
	local neg3 fb ka acks
	neg3=$(it_count_lines "$WORK/med.log" 'lea lea1 hi3: pdu-ack negotiated: PDU acknowledgement in force')
	it_log "HI3 connections that negotiated pdu-ack: $neg3"
	((neg3 >= 2)) || it_fail "mediator log: pdu-ack negotiated on HI3 $neg3 time(s), expected again after cuts"
	fb=$(it_count_lines "$WORK/med.log" 'keepalive mode')
	((fb == 0)) || it_fail "mediator log: $fb fallback(s) to keepalive mode"
	acks=$(it_summary_total "$WORK/out" pdu_acks)
	it_log "collector pdu_acks: $acks"
	((acks > 0)) || it_fail "collector summary: pdu_acks=$acks"
	ka=$(grep -oE 'stopped: .*keepalives=[0-9]+' "$WORK/col.log" | tail -n 1 | sed 's/.*keepalives=//')
	[[ -n $ka ]] || it_fail "collector log: no keepalives count"
	it_log "collector keep-alives: $ka"
	((ka <= 8)) || it_fail "collector saw $ka keep-alives: traffic was confirmed by keep-alives"
	# the mediator's exit statistics count the acknowledgements per handover (requests lost
	# with a cut connection are never answered: responses <= requests)
	local h
	for h in 2 3; do
		fc_exit_stats "$h"
		it_log "mediator hi$h: pdu_ack_requests=$FC_REQ pdu_ack_responses=$FC_RESP"
		((FC_RESP > 0 && FC_RESP <= FC_REQ)) ||
			it_fail "exit statistics hi$h: pdu_ack_requests=$FC_REQ pdu_ack_responses=$FC_RESP"
		# (no ack= check: a link cut just before the drain may end it down, ack=down)
		! grep -qE ' ack=keepalive( |$)' <<<"$FC_LINE" || it_fail "exit statistics hi$h: keepalive mode"
	done
}
FC_EXTRA_CHECK=pdu_check
fc_stop_and_check "pdu-ack, $count packets, cuts hi3=$cuts3 hi2=$cuts2"
