#!/usr/bin/env bash
# labels: integration;provisioning
# Restarting the mediator keeps every LEA, warrant (active, pending, suspended, ended) and audit
# entry: the lists and the trail read through lawtap-ctl are the same before and after, and the
# trail still verifies. An IAP connected across the restart reconnects and acknowledges its full
# task list again; an IAP run afterwards over a capture delivers exactly the packets of the one
# active warrant (the pending, suspended and ended ones deliver nothing).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/prov.sh"
prov_init prov_restart
pki=$WORK/pki
"$IT_IAP" --help 2>&1 | grep -q -- '--pace' || it_fail "lawtap-iap has no --pace"

prov_mediator med
hi2="" hi3="" hi2b="" hi3b=""
it_port hi2
it_port hi3
it_port hi2b
it_port hi3b
it_start_collector col "$pki" "$hi2" "$hi3" "$WORK/out"
it_start_collector col2 "$pki" "$hi2b" "$hi3b" "$WORK/out2"
ctl_ok lea add --id lea1 --country NL --hi2 "127.0.0.1:$hi2" --hi3 "127.0.0.1:$hi3"
ctl_ok lea add --id lea2 --country BE --hi2 "127.0.0.1:$hi2b" --hi3 "127.0.0.1:$hi3b" \
	--timestamp generalized --keepalive-idle 45 --operator-id op-be
ctl_ok warrant add --liid RST-1 --country NL --lea lea1 --target 10.0.0.1 --mode full \
	--target-name alice --end +1d
ctl_ok warrant add --liid RST-2 --country NL --lea lea1 --target 2001:db8:1::1 --mode full \
	--start +1h
ctl_ok warrant add --liid RST-3 --country NL --lea lea1 --target 10.0.0.2 --mode full
ctl_ok warrant end NL/RST-3
ctl_ok warrant add --liid RST-4 --country BE --lea lea2 --target 10.9.0.0/16 --mode iri-only \
	--filter 'tcp'
ctl_ok warrant modify BE/RST-4 --suspend
prov_store_snapshot "$WORK/before.json"
ctl_json audit list | jq -S '.entries' >"$WORK/audit-before.json"
states=$(jq -sr '.[1].warrants | map("\(.liid)=\(.state)") | join(" ")' "$WORK/before.json")
[[ $states == "RST-1=active RST-2=pending RST-3=ended RST-4=suspended" ]] ||
	it_fail "warrant states before the restart: $states"

# An IAP that stays connected across the restart: a long paced replay of traffic no warrant
# targets (so it delivers nothing itself).
"$IT_MKPCAP" --link raw --count 3000 --seed 5 --target 10.200.0.1 -o "$WORK/idle.pcap" \
	>"$WORK/mkpcap-idle.out" || it_fail "mkpcap"
it_start iap-long "$IT_IAP" -r "$WORK/idle.pcap" --pace --mediator "127.0.0.1:$PROV_XP" \
	--tasking "127.0.0.1:$PROV_TP" --ca "$pki/ca.pem" --cert "$pki/iap.pem" \
	--key "$pki/iap.key"
prov_wait_acked iap1 0
v1=$(prov_iap_field iap1 acked_version)

prov_restart_mediator med
it_log "mediator restarted"
# A warrant's CIN names its interception session: a new run may open new ones (compared apart).
jq -sr '.[1].warrants | map("\(.liid)=\(.cin)") | join(" ")' "$WORK/before.json" >"$WORK/cin-before.txt"

prov_store_snapshot "$WORK/after.json"
it_log "CINs before the restart: $(cat "$WORK/cin-before.txt"); after:" \
	"$(jq -sr '.[1].warrants | map("\(.liid)=\(.cin)") | join(" ")' "$WORK/after.json")"
for f in before after; do
	jq 'if .warrants then .warrants |= map(del(.cin)) else . end' "$WORK/$f.json" >"$WORK/$f-nocin.json"
done
if ! diff -u "$WORK/before-nocin.json" "$WORK/after-nocin.json" >"$WORK/store.diff"; then
	head -n 40 "$WORK/store.diff" >&2
	it_fail "LEAs or warrants differ after the restart"
fi
ctl_json audit list | jq -S '.entries' >"$WORK/audit-after.json"
nb=$(jq length "$WORK/audit-before.json")
jq -e --slurpfile b "$WORK/audit-before.json" --argjson n "$nb" '.[0:$n] == $b[0]' \
	"$WORK/audit-after.json" >/dev/null || it_fail "audit entries changed across the restart"
ctl_ok audit verify
grep -q 'audit trail ok' "$WORK/ctl.out" || it_fail "audit verify after restart: $(cat "$WORK/ctl.out")"

# the IAP reconnects and acknowledges its task list again
it_wait_for "iap1 to reconnect" 30 prov_acked_above iap1 0
v2=$(prov_iap_field iap1 acked_version)
it_log "iap1 acked version $v1 before the restart, $v2 after"
((v2 > v1)) || it_fail "task version went down across the restart: $v1 -> $v2"
it_expect_running iap-long
it_stop iap-long 30

# an IAP over a capture now: exactly RST-1's packets
"$IT_MKPCAP" --link ether --count 600 --seed 9 --target 10.0.0.1 --target 2001:db8:1::1 \
	--target 10.0.0.2 --target 10.9.0.0/16 --expect-target 10.0.0.1 -o "$WORK/in.pcap" \
	--expect "$WORK/expect.pcap" >"$WORK/mkpcap.out" || it_fail "mkpcap"
it_run_iap iap "$pki" "$WORK/in.pcap" "$PROV_XP" "$PROV_TP"
[[ $IT_RC == 0 ]] || it_fail "lawtap-iap exited $IT_RC"
it_stop med 60
[[ $IT_RC == 0 ]] || it_fail "mediator exited $IT_RC after SIGTERM"
it_stop col 30
it_stop col2 30
"$IT_PCAPCMP" "$WORK/expect.pcap" "$WORK/out/cc.pcap" >"$WORK/pcapcmp.out" 2>&1 || {
	cat "$WORK/pcapcmp.out" >&2
	it_fail "after the restart cc.pcap is not exactly the active warrant's packets"
}
it_check_summary "$WORK/out"
it_pass "store, audit trail and IAP tasking survive a restart ($(tail -n 1 "$WORK/pcapcmp.out"))"
