#!/usr/bin/env bash
# labels: integration;fault
# The collector (the LEA) is stopped for 30 s in the middle of a 100,000-packet replay, then
# restarted on the same output directory. The mediator keeps taking X2/X3 into its spool
# meanwhile, and after the reconnect resends its unconfirmed records first, in order. Result:
# cc.pcap equals mkpcap's expected capture (0 missing, 0 duplicated, order kept), iri.csv holds
# one BEGIN per LIID/CIN and no repeated row, hi2.ber/hi3.ber pass etsi-check --canonical
# --contiguous, and the summary reports no gap. The 30 s outage is the one deliberate duration;
# every other wait polls with a bound. Under sanitizers: 30,000 packets.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/fault_common.sh"
it_init fault_collector_outage

count=100000 speed=200
if ((IT_SLOW > 1)); then count=30000 speed=60; fi
fc_setup "$count" 41
fc_start_all
fc_start_iap --pace --speed "$speed" --keep-times

# Mid-replay: the collector holds some CC, the IAP is still sending.
it_wait_for "the collector to receive CC" 60 fc_hi3_bytes_above 200000
it_expect_running iap
it_stop col 30
[[ $IT_RC == 0 ]] || it_fail "lawtap-collector exited $IT_RC after SIGTERM"
before=$(fc_hi3_records)
it_log "collector stopped with $before CC records; outage of 30 s"
sleep 30 # the outage itself (deliberate)
it_grep_log "$WORK/med.log" "hi3: .*(link lost|connect)" "the mediator noticing the outage"
fc_restart_collector

it_wait_exit iap 180
[[ $IT_RC == 0 ]] || it_fail "lawtap-iap exited $IT_RC"
x3=$(it_kv "$WORK/iap.stats" x3_sent)
[[ $x3 -ge $MATCHED ]] || it_fail "IAP x3_sent=$x3, mkpcap matched=$MATCHED"
it_wait_for "the collector to hold all $MATCHED CC records" 120 fc_have_all
fc_stop_and_check "collector outage 30 s after $before CC records"
