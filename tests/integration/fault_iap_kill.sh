#!/usr/bin/env bash
# labels: integration;fault
# lawtap-iap is killed with SIGKILL twice in the middle of a replay of 100,000 packets and
# restarted each time on the same file with --resume STATE. The state file names the last
# packet whose PDUs the mediator confirmed, the run epoch and the next sequence number per XID;
# the restarted IAP continues after that packet and resends what was not confirmed with the same
# keys, which the mediator drops as duplicates. The collector's cc.pcap must equal mkpcap's
# expected capture, hi2.ber/hi3.ber must pass etsi-check --canonical --contiguous, and the
# summary must show no gap, duplicate or decode error.
# The IAP replays at 100x its recorded pace (--pace --speed 100 --keep-times: mkpcap spreads
# 100,000 packets over ~2,000 s, so ~20 s), so the kills fall mid-replay; it keeps the capture's
# time stamps so the output compares with the expected capture. Under sanitizers
# (LAWTAP_SANITIZE=ON) the capture has 30,000 packets (~600 s recorded, replayed at 40x).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
it_init fault_iap_kill

count=100000 speed=100
if ((IT_SLOW > 1)); then count=30000 speed=40; fi

pki=$WORK/pki
it_pki "$pki"
"$IT_MKPCAP" --link ether --pad --count "$count" --seed 41 --target 10.0.0.1 \
	--target 2001:db8:1::1 -o "$WORK/in.pcap" --expect "$WORK/expect.pcap" >"$WORK/mkpcap.out"
matched=$(it_kv "$WORK/mkpcap.out" matched)

it_port hi2
it_port hi3
it_port xp
it_port tp
it_mediator_conf "$WORK/mediator.yaml" --pki "$pki" --x2x3 "$xp" --tasking "$tp" \
	--hi2 "$hi2" --hi3 "$hi3" --mode full --target 10.0.0.1 --target 2001:db8:1::1 --drain 60
it_start_collector col "$pki" "$hi2" "$hi3" "$WORK/out"
it_start_mediator med "$WORK/mediator.yaml" "$xp" "$tp"

state=$WORK/iap.resume
iap_args=(-r "$WORK/in.pcap" --mediator "127.0.0.1:$xp" --tasking "127.0.0.1:$tp"
	--ca "$pki/ca.pem" --cert "$pki/iap.pem" --key "$pki/iap.key" --resume "$state"
	--pace --speed "$speed" --keep-times)

state_packets() { # confirmed packets in the state file (0 when none yet)
	local v
	v=$(grep -E '^packets [0-9]+$' "$state" 2>/dev/null | cut -d' ' -f2) || true
	echo "${v:-0}"
}
past() { (($(state_packets) >= $1)); }

# Two runs killed with SIGKILL once the state says a share of the file is confirmed.
epoch=""
for share in 25 60; do
	it_start "iap-$share" "$IT_IAP" "${iap_args[@]}" --stats "$WORK/iap-$share.stats"
	it_wait_for "the resume state to pass ${share}% of the packets" 120 past $((count * share / 100))
	it_expect_running "iap-$share"
	kill -KILL "${IT_PID[iap-$share]}"
	wait "${IT_PID[iap-$share]}" 2>/dev/null || true
	unset "IT_PID[iap-$share]"
	it_check_sanitizer "iap-$share"
	e=$(grep -E '^epoch ' "$state" | cut -d' ' -f2)
	[[ -z $epoch || $epoch == "$e" ]] || it_fail "the run epoch changed on resume ($epoch -> $e)"
	epoch=$e
	it_log "killed the IAP at $(state_packets) confirmed packets (epoch $epoch)"
done

# The last run finishes the file.
IT_RC=0
timeout -k 5 $((120 * IT_SLOW)) "$IT_IAP" "${iap_args[@]}" --stats "$WORK/iap-last.stats" \
	>"$WORK/iap-last.out" 2>"$WORK/iap-last.log" || IT_RC=$?
it_check_sanitizer iap-last
[[ $IT_RC == 0 ]] || it_fail "the resumed lawtap-iap exited $IT_RC"
it_grep_log "$WORK/iap-last.log" 'resuming after packet' "the IAP resumes"
[[ $(state_packets) == "$count" ]] || it_fail "the final state says $(state_packets) packets, expected $count"
[[ $(grep -E '^epoch ' "$state" | cut -d' ' -f2) == "$epoch" ]] || it_fail "the run epoch changed"

it_stop med 90
[[ $IT_RC == 0 ]] || it_fail "lawtap-mediator exited $IT_RC after SIGTERM"
it_stop col 30
[[ $IT_RC == 0 ]] || it_fail "lawtap-collector exited $IT_RC after SIGTERM"

out=$WORK/out
"$IT_PCAPCMP" "$WORK/expect.pcap" "$out/cc.pcap" >"$WORK/pcapcmp.out" 2>&1 || {
	tail -n 5 "$WORK/pcapcmp.out" >&2
	it_fail "cc.pcap differs from the expected capture"
}
it_etsi_check --quiet --canonical --contiguous "$out/hi2.ber" "$out/hi3.ber"
it_check_summary "$out"
hi3n=$(it_summary_total "$out" hi3_records)
[[ $hi3n == "$matched" ]] || it_fail "collector has hi3_records=$hi3n, expected $matched"
it_pass "$count packets, $matched CC records, IAP killed twice and resumed, nothing lost or doubled"
