#!/usr/bin/env bash
# labels: integration;fault
# ack_mode pdu-ack with pdu_ack_strict: 1 (docs/pdu-ack.md, "Fallbacks"), end to end over real
# TLS. Phase 1: the collector declines PDU acknowledgement (lawtap-collector --no-pdu-ack). On
# every connection of HI2 and HI3 the mediator sends an optionRequest, gets the decline and
# drops the connection (log line naming the LEA, the HI and the reason), never falls back to
# keepalive mode and writes no record: the IAP's 30,000 packets (10,000 under sanitizers) stay
# in the spool, and <state_dir>/status shows them unconfirmed, none delivered or confirmed, no
# pDUAcknowledgementRequest, ack=negotiating|down and the reconnects going up (it asks again on
# each connection: no fallback memory). Phase 2: the collector is restarted on the same output
# directory, accepting pdu-ack: the next connections negotiate it, everything is delivered once
# (cc.pcap equals the expected capture, etsi-check --canonical --contiguous, no gap, no
# duplicate received: nothing was written before), confirmed by pDUAcknowledgementResponses
# (status: unconfirmed=0, ack=pdu-ack, the spool back to its tail segment). The mediator's
# statistics at exit count pdu_ack_requests > 0 on both HIs and as many responses (a clean
# drain leaves no request unanswered).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/fault_common.sh"
it_init fault_pdu_ack_strict

count=30000
if ((IT_SLOW > 1)); then count=10000; fi
seg=1048576

fc_setup "$count" 53 "  spool_segment_bytes: $seg"
fc_lea_lines "ack_mode: pdu-ack" "pdu_ack_strict: 1"
grep -q '^    pdu_ack_strict: 1' "$WORK/mediator.yaml" || it_fail "mediator.yaml: no pdu_ack_strict"
STATUS=$WORK/state/status

# st HI KEY: KEY on the status file's line of lea1's HI (2 or 3); "" when not there yet.
st() {
	local v
	v=$(grep -E "^lea=lea1 hi=$1 " "$STATUS" 2>/dev/null | grep -oE "(^| )$2=[^ ]*" |
		head -n 1) || true
	echo "${v#*=}"
}

# Phase 1: a collector that declines PDU acknowledgement.
fc_collector_opts --no-pdu-ack
fc_start_mediator
store=$WORK/state/lawtap.db
got=$(sqlite3 "file:$store?mode=ro" "SELECT ack_mode || '/' || pdu_ack_strict FROM leas")
[[ $got == "pdu-ack/1" ]] || it_fail "store: lea ack_mode/pdu_ack_strict=$got, expected pdu-ack/1"

fc_start_iap
it_wait_exit iap 300
[[ $IT_RC == 0 ]] || it_fail "lawtap-iap exited $IT_RC"
x3=$(it_kv "$WORK/iap.stats" x3_sent)
[[ $x3 == "$MATCHED" ]] || it_fail "IAP x3_sent=$x3, mkpcap matched=$MATCHED"

# Every ack= value the status file showed while the LEA declined.
ACKS_SEEN=" "
note_acks() {
	local h a
	for h in 2 3; do
		a=$(st "$h" ack)
		[[ -z $a || $ACKS_SEEN == *" $a "* ]] || ACKS_SEEN+="$a "
	done
}
# All CC records spooled for HI3 and none delivered; both HIs refused at least twice.
held() {
	note_acks
	local q u r2 r3
	q=$(st 3 queued) u=$(st 3 unconfirmed) r2=$(st 2 reconnects) r3=$(st 3 reconnects)
	[[ -n $q && -n $u && -n $r2 && -n $r3 ]] && ((q >= MATCHED && u >= MATCHED && r2 >= 2 && r3 >= 2))
}
it_wait_for "the spool to hold all $MATCHED CC records, each HI refused twice" 120 held
r3a=$(st 3 reconnects)
# Strict: no fallback memory, it asks again on every connection (reconnect_max 2 s).
more_tries() {
	note_acks
	local r
	r=$(st 3 reconnects)
	((r >= r3a + 2))
}
it_wait_for "HI3 to be refused twice more" 60 more_tries
it_log "status while declined: ack values seen:$ACKS_SEEN"
for h in 2 3; do
	line=$(grep -E "^lea=lea1 hi=$h " "$STATUS")
	it_log "status: $line"
	for k in delivered confirmed pdu_ack_requests pdu_ack_responses keepalives; do
		v=$(st "$h" "$k")
		[[ $v == 0 ]] || it_fail "status hi$h: $k=$v while the LEA declines pdu-ack"
	done
	v=$(st "$h" unconfirmed)
	((v > 0)) || it_fail "status hi$h: unconfirmed=$v, records expected in the spool"
	dec=$(it_count_lines "$WORK/med.log" \
		"lea lea1 hi$h: the LEA declined pDUAcknowledgement and ack_mode pdu-ack allows no fallback")
	((dec >= 1)) || it_fail "mediator log: no strict decline line for hi$h"
done
[[ $ACKS_SEEN =~ ^( (negotiating|down))+\ $ ]] ||
	it_fail "status: ack values while declined:$ACKS_SEEN (expected only negotiating/down)"
spool1=$(st 3 spool_bytes)
neg=$(it_count_lines "$WORK/med.log" 'pdu-ack negotiated')
((neg == 0)) || it_fail "mediator log: pdu-ack negotiated $neg time(s) with a declining LEA"
fb=$(it_count_lines "$WORK/med.log" 'keepalive mode')
((fb == 0)) || it_fail "mediator log: $fb fallback(s) to keepalive mode under pdu_ack_strict"

it_stop col 30
[[ $IT_RC == 0 ]] || it_fail "lawtap-collector (declining) exited $IT_RC after SIGTERM"
for k in hi2_records hi3_records; do
	v=$(it_summary_total "$WORK/out" "$k")
	[[ $v == 0 ]] || it_fail "declining collector's summary: $k=$v, nothing should have been written"
done
cp "$WORK/col.log" "$WORK/col-declining.log"
it_log "phase 1: $MATCHED CC records held in the spool ($spool1 bytes), hi3 refused $(st 3 reconnects) time(s)"

# Phase 2: the collector again, accepting pdu-ack, same output directory.
fc_collector
it_wait_for "the collector to hold all $MATCHED CC records" 180 fc_have_all
confirmed_all() {
	local h
	for h in 2 3; do
		[[ $(st "$h" unconfirmed) == 0 && $(st "$h" ack) == pdu-ack ]] || return 1
	done
}
it_wait_for "status: both HIs confirmed by pdu-ack" 60 confirmed_all
for h in 2 3; do
	line=$(grep -E "^lea=lea1 hi=$h " "$STATUS")
	it_log "status: $line"
	q=$(st "$h" queued) c=$(st "$h" confirmed) d=$(st "$h" delivered)
	[[ $c == "$q" && $d == "$q" ]] ||
		it_fail "status hi$h: queued=$q delivered=$d confirmed=$c, expected all delivered once and confirmed"
	((q > 0)) || it_fail "status hi$h: queued=0"
	req=$(st "$h" pdu_ack_requests) resp=$(st "$h" pdu_ack_responses)
	((req > 0 && resp > 0)) || it_fail "status hi$h: pdu_ack_requests=$req pdu_ack_responses=$resp"
	neg=$(it_count_lines "$WORK/med.log" "lea lea1 hi$h: pdu-ack negotiated: PDU acknowledgement in force")
	((neg >= 1)) || it_fail "mediator log: pdu-ack not negotiated on hi$h after the restart"
done
# Confirmed segments leave the spool: what is left is at most the tail segment.
spool2=$(st 3 spool_bytes)
it_log "hi3 spool: $spool1 bytes while declined, $spool2 bytes once confirmed"
((spool1 > 2 * seg)) || it_fail "hi3 spool held only $spool1 bytes: too little traffic for the check"
((spool2 <= seg + 65536)) || it_fail "hi3 spool still $spool2 bytes after everything was confirmed"

strict_check() {
	local h fb dups acks
	for h in 2 3; do
		fc_exit_stats "$h"
		it_log "mediator exit statistics: $FC_LINE"
		((FC_REQ > 0)) || it_fail "exit statistics hi$h: pdu_ack_requests=$FC_REQ"
		((FC_REQ == FC_RESP)) ||
			it_fail "exit statistics hi$h: pdu_ack_requests=$FC_REQ pdu_ack_responses=$FC_RESP after a clean drain"
		grep -qE ' unconfirmed=0 ' <<<"$FC_LINE" || it_fail "exit statistics hi$h: records left unconfirmed"
		grep -qE ' ack=pdu-ack( |$)' <<<"$FC_LINE" || it_fail "exit statistics hi$h: not in pdu-ack mode"
	done
	fb=$(it_count_lines "$WORK/med.log" 'keepalive mode')
	((fb == 0)) || it_fail "mediator log: $fb fallback(s) to keepalive mode under pdu_ack_strict"
	acks=$(it_summary_total "$WORK/out" pdu_acks)
	((acks > 0)) || it_fail "collector summary: pdu_acks=$acks"
	dups=$(it_summary_total "$WORK/out" duplicates)
	((dups == 0)) || it_fail "collector received $dups duplicate(s): records were written before the negotiation"
}
FC_EXTRA_CHECK=strict_check
fc_stop_and_check "pdu-ack strict: declined (no fallback, $MATCHED records held), then accepted: delivered and confirmed"
