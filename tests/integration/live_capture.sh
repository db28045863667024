#!/usr/bin/env bash
# labels: integration;live
# Live capture: lawtap-iap -i lo as root opens the interface, drops to the unprivileged user
# "nobody" before parsing a packet, and delivers exactly the target's live traffic. UDP
# datagrams are sent with bash's /dev/udp to the target 127.0.0.77 and to 127.0.0.78 (not a
# target); cc.pcap must hold every datagram to the target, in order, and nothing without it.
# Needs root (the CI runs as root); elsewhere it reports "skipped" (exit 77).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
if [[ $(id -u) != 0 ]]; then
	echo "live_capture: needs root to open lo; skipped" >&2
	exit 77
fi
it_init live_capture
it_need tshark
getent passwd nobody >/dev/null || it_fail "no user nobody to drop to"

pki=$WORK/pki
it_pki "$pki"
chmod 0755 "$WORK"
out=$WORK/out
mkdir -p "$out"
it_port hi2; it_port hi3; it_port xp; it_port tp; it_port dport
it_mediator_conf "$WORK/mediator.yaml" --pki "$pki" --x2x3 "$xp" --tasking "$tp" \
	--hi2 "$hi2" --hi3 "$hi3" --mode full --target 127.0.0.77
it_start_collector col "$pki" "$hi2" "$hi3" "$out"
it_start_mediator med "$WORK/mediator.yaml" "$xp" "$tp"
it_start iap "$IT_IAP" -i lo --user nobody --mediator "127.0.0.1:$xp" --tasking "127.0.0.1:$tp" \
	--ca "$pki/ca.pem" --cert "$pki/iap.pem" --key "$pki/iap.key" --stats "$WORK/iap.stats"
it_wait_log "$WORK/iap.log" 'dropped privileges to nobody' "the IAP drops root" 20
it_wait_log "$WORK/iap.log" 'snapshot [0-9]+ applied \(1 tasks\)' "the IAP applies its task" 20

# After the drop every uid and gid of the process is nobody's (real, effective, saved, fs).
pid=${IT_PID[iap]}
nuid=$(id -u nobody)
uids=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$pid/status")
[[ $uids == "$nuid $nuid $nuid $nuid" ]] || it_fail "IAP runs with uids '$uids', expected $nuid"
groups=$(awk '/^Groups:/ {$1=""; print}' "/proc/$pid/status" | tr -d ' ')
[[ -z $groups ]] || it_fail "IAP kept supplementary groups: $groups"

n=25
for ((i = 0; i < n; i++)); do
	printf 'lawtap-live-%03d' "$i" >"/dev/udp/127.0.0.77/$dport" || true
	printf 'not-a-target-%03d' "$i" >"/dev/udp/127.0.0.78/$dport" || true
done
# Wait until the collector's cc.pcap (flushed every 200 ms) holds the n datagrams to the target
# (the ICMP port-unreachable replies from the target are captured too, and counted apart).
have_n() {
	[[ -s $out/cc.pcap ]] || return 1
	local v
	v=$(tshark -r "$out/cc.pcap" -Y "ip.dst == 127.0.0.77 && udp.dstport == $dport" 2>/dev/null |
		wc -l) || return 1
	((v >= n))
}
it_wait_for "$n datagrams in the collector's cc.pcap" 30 have_n

it_stop iap 30
[[ $IT_RC == 0 ]] || it_fail "lawtap-iap -i exited $IT_RC after SIGTERM"
it_stop med 60
[[ $IT_RC == 0 ]] || it_fail "lawtap-mediator exited $IT_RC after SIGTERM"
it_stop col 30
[[ $IT_RC == 0 ]] || it_fail "lawtap-collector exited $IT_RC after SIGTERM"

x3=$(it_kv "$WORK/iap.stats" x3_sent)
hi3n=$(it_summary_total "$out" hi3_records)
[[ $x3 == "$hi3n" ]] || it_fail "IAP sent x3_sent=$x3, collector holds hi3_records=$hi3n"

# Every record involves the target; the datagrams to it are all there, in order, intact.
tshark -r "$out/cc.pcap" -T fields -E occurrence=f -e ip.src -e ip.dst -e udp.dstport -e udp.payload \
	>"$WORK/cc.txt" 2>"$WORK/tshark.log" || it_fail "tshark cannot read cc.pcap"
if awk -F'\t' '$1 != "127.0.0.77" && $2 != "127.0.0.77"' "$WORK/cc.txt" | grep -q .; then
	it_fail "cc.pcap holds packets without the target: $(awk -F'\t' '$1 != "127.0.0.77" && $2 != "127.0.0.77"' "$WORK/cc.txt" | head -n 3)"
fi
awk -F'\t' -v p="$dport" '$2 == "127.0.0.77" && $3 == p {print $4}' "$WORK/cc.txt" >"$WORK/got.txt"
for ((i = 0; i < n; i++)); do
	printf 'lawtap-live-%03d' "$i" | od -An -tx1 | tr -d ' \n'
	echo
done >"$WORK/want.txt"
diff -u "$WORK/want.txt" "$WORK/got.txt" >"$WORK/live.diff" ||
	it_fail "datagrams to the target differ from those sent (live.diff)"
it_check_summary "$out"
it_etsi_check --canonical --contiguous "$out/hi2.ber" "$out/hi3.ber"
it_pass "$n live datagrams to 127.0.0.77 delivered, $hi3n CC records, IAP ran as nobody"
