#!/usr/bin/env bash
# labels: integration
# Before a sequence number would wrap, the mediator moves the communication to a new CIN and
# opens it with its IRI (BEGIN). The hidden option cin_roll_at lowers the threshold to 1000 so a
# 10,000-packet replay rolls several times: every CIN's CC stream is contiguous from 0
# (etsi-check --contiguous), each CIN has exactly one BEGIN, and cc.pcap is complete and in
# order.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/fault_common.sh"
it_init cin_roll

fc_setup 10000 53 "  cin_roll_at: 1000"
fc_start_all
fc_start_iap
it_wait_exit iap 120
[[ $IT_RC == 0 ]] || it_fail "lawtap-iap exited $IT_RC"
it_wait_for "the collector to hold all $MATCHED CC records" 60 fc_have_all
check_cins() {
	local n want
	n=$(grep -cE '^liid=LIID-0001 cin=[0-9]+ hi=3 ' "$WORK/out/summary.txt")
	want=$(((MATCHED + 999) / 1000))
	((n >= want)) || it_fail "$n CINs carry CC, expected at least $want"
	if grep -E '^liid=.* hi=3 ' "$WORK/out/summary.txt" | grep -qvE ' first_seq=0 '; then
		it_fail "a CIN's CC does not start at sequence number 0"
	fi
	grep -E '^liid=.* hi=3 ' "$WORK/out/summary.txt" | grep -oE 'last_seq=[0-9]+' |
		awk -F= '$2 > 999 { exit 1 }' || it_fail "a sequence number went past cin_roll_at"
	it_log "$n CINs, each numbered from 0 below 1000"
}
FC_EXTRA_CHECK=check_cins
fc_stop_and_check "cin_roll_at 1000"
