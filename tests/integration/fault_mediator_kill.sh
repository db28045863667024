#!/usr/bin/env bash
# labels: integration;fault
# The mediator is killed with SIGKILL in the middle of a 100,000-packet replay and started again
# on the same state directory. Everything it had acknowledged to the IAP is in its spool (the
# keep-alive ack follows the spool's group commit); the restart replays the unconfirmed
# records first, rebuilds its de-duplication marks from the keys stored with them, drops what
# the IAP resends of them, and takes the rest on a new CIN (BEGIN first). Result as in
# fault_collector_outage.sh: cc.pcap equals the expected capture, etsi-check --canonical
# --contiguous passes, no gap, one BEGIN per CIN. Under sanitizers: 30,000 packets.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/fault_common.sh"
it_init fault_mediator_kill

count=100000 speed=200
if ((IT_SLOW > 1)); then count=30000 speed=60; fi
fc_setup "$count" 43
fc_start_all
fc_start_iap --pace --speed "$speed" --keep-times

it_wait_for "the collector to receive CC" 60 fc_hi3_bytes_above 300000
it_expect_running iap
kill -KILL "${IT_PID[med]}"
wait "${IT_PID[med]}" 2>/dev/null || true
unset "IT_PID[med]"
mv "$WORK/med.log" "$WORK/med-killed.log"
it_log "mediator killed (SIGKILL) mid-replay; restarting it"
fc_start_mediator
it_wait_log "$WORK/med.log" "spool .* holds [0-9]+ unconfirmed records|listening for x2x3" \
	"the restarted mediator to open its spools" 30

it_wait_exit iap 180
[[ $IT_RC == 0 ]] || it_fail "lawtap-iap exited $IT_RC"
it_wait_for "the collector to hold all $MATCHED CC records" 120 fc_have_all
# None may be left: the LEA may have confirmed everything spooled just before the kill.
replayed=$(grep -oE 'holds [0-9]+ unconfirmed' "$WORK/med.log" | grep -oE '[0-9]+' | paste -sd+ | bc || true)
dd=$(grep -oE 'duplicates=[0-9]+' "$WORK/state/status" 2>/dev/null | tail -n 1 || true)
it_log "restarted mediator: ${replayed:-0} records replayed from the spool, ${dd:-duplicates=?} (IAP resends already spooled, dropped)"
fc_stop_and_check "mediator SIGKILL mid-replay"
