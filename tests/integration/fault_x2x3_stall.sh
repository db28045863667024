#!/usr/bin/env bash
# labels: integration;fault
# A mediator link that takes no data does not stop the IAP. tests/tools/ltproxy sits between
# the IAP and the mediator and, after the first 256 KiB of X2/X3, stops reading from the IAP
# (its receive buffer cut to 64 KiB), as a stalled or back-pressured peer would; the TCP
# connection stays up. The IAP's write then finds no room: it must keep reading its input,
# holding the batches in its buffer (memory, then --buffer-dir), instead of waiting inside a
# write (which stopped the capture for up to 60 s before this test: a live capture would lose
# packets in the kernel meanwhile). The IAP replays its file at the recorded pace (--pace,
# --speed 400: about 5 s for the 100,000 packets, 2 s for 40,000 under sanitizers), as a
# capture that cannot wait. The test waits for the IAP's "end of file" line while the
# proxy is still stalled, checks the batches went to the disk buffer, that the IAP then waits
# without spinning (its CPU over 12 s of the stall) and that the link was not given up ("write
# timed out", "no ack"), then lets the proxy pass: everything is delivered
# once, cc.pcap equals mkpcap's expected capture, hi2.ber/hi3.ber pass etsi-check.
# The test runs in a network namespace of its own (unshare -n, as root) whose TCP send buffers
# are capped at 256 KiB (net.ipv4.tcp_wmem, per namespace): with the default 4 MiB cap the
# kernel would take the IAP's whole in-flight window (4 MiB) and its write would never wait.
# Where no namespace can be made (not root) it is skipped (77).
set -euo pipefail
if [[ -z ${LT_STALL_NETNS:-} ]]; then
	if ! unshare -n true 2>/dev/null; then
		echo "fault_x2x3_stall: skipped: cannot make a network namespace (unshare -n needs root)"
		exit 77
	fi
	exec unshare -n env LT_STALL_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
echo "4096 16384 262144" >/proc/sys/net/ipv4/tcp_wmem
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
it_init fault_x2x3_stall
PROXY=$IT_BUILD/tests/ltproxy
[[ -x $PROXY ]] || it_fail "$PROXY is not built"

count=100000
if ((IT_SLOW > 1)); then count=40000; fi
pki=$WORK/pki
it_pki "$pki"
d=$WORK/run
mkdir -p "$d"
"$IT_MKPCAP" --link ether --pad --count "$count" --seed 33 --target 10.0.0.1 \
	-o "$d/in.pcap" --expect "$d/expect.pcap" >"$d/mkpcap.out"
matched=$(it_kv "$d/mkpcap.out" matched)
for v in hi2 hi3 xp tp pp; do it_port "$v"; done # sets $hi2 ... $pp
it_mediator_conf "$d/mediator.yaml" --pki "$pki" --x2x3 "$xp" --tasking "$tp" \
	--hi2 "$hi2" --hi3 "$hi3" --target 10.0.0.1 --drain 60 --state "$d/state"
it_start_collector col "$pki" "$hi2" "$hi3" "$d/out"
it_start_mediator med "$d/mediator.yaml" "$xp" "$tp"
it_start proxy "$PROXY" "$pp" "127.0.0.1:$xp" --control "$d/proxy.ctl" \
	--stall-after-bytes 262144 --rcvbuf 65536
it_wait_port proxy "$pp"

# The IAP's X2/X3 goes through the proxy; tasking goes straight to the mediator.
it_start iap timeout -k 5 $((180 * IT_SLOW)) "$IT_IAP" -r "$d/in.pcap" \
	--mediator "127.0.0.1:$pp" --tasking "127.0.0.1:$tp" --ca "$pki/ca.pem" \
	--cert "$pki/iap.pem" --key "$pki/iap.key" --stats "$WORK/iap.stats" \
	--buffer-mem 1M --buffer-dir "$d/iapbuf" --buffer-max 512M --pace --speed 400 --keep-times
it_wait_log "$WORK/proxy.log" 'stalled after' "the proxy stalling the X2/X3 link" 30
# While the link takes nothing, the IAP reads on to the end of its file.
it_wait_log "$WORK/iap.log" 'end of file after packet' "the IAP reading on past a stalled link" 30
it_expect_running proxy
it_grep_log "$WORK/proxy.log" 'stalled after' "proxy"
if grep -q 'control: pass' "$WORK/proxy.log"; then it_fail "the proxy passed before the end of file"; fi
held=$(find "$d/iapbuf" -type f -name 'iap-*.buf' -printf '%s\n' 2>/dev/null | awk '{s += $1} END {print s + 0}')
((held > 1048576)) || it_fail "only $held bytes in the IAP's disk buffer during the stall"
it_log "end of file reached during the stall, $held bytes held on disk"
# Waiting on the stalled link costs no CPU: the loop sleeps in poll (a pending write, a
# keep-alive owed behind it, the idle-probe deadline 10 s after the socket last took bytes
# once made it spin). 12 s of the stall sampled, within the 30 s bound on a batch's ack;
# at most 20% of a core (an idle wait is near 0, a spin near 100%). The sleep is the sampling
# window of that measure, not a wait for an event (those are polls with a bound, common.sh).
iap_pid=$(pgrep -P "${IT_PID[iap]}" -x lawtap-iap) || it_fail "no lawtap-iap process under timeout"
ticks() { awk '{print $14 + $15}' "/proc/$iap_pid/stat"; }
hz=$(getconf CLK_TCK)
c0=$(ticks)
sleep 12
c1=$(ticks)
it_expect_running proxy
if grep -q 'control: pass' "$WORK/proxy.log"; then it_fail "the proxy passed during the CPU sample"; fi
it_log "IAP CPU while waiting on the stalled link: $((c1 - c0)) ticks in 12 s (CLK_TCK $hz)"
((100 * (c1 - c0) <= 20 * 12 * hz)) ||
	it_fail "the IAP used $((c1 - c0)) ticks of CPU in 12 s waiting on a stalled link (a busy loop)"
if grep -qE 'write timed out|no ack for a batch' "$WORK/iap.log"; then
	grep -E 'write timed out|no ack for a batch' "$WORK/iap.log" >&2
	it_fail "the IAP gave up the stalled link"
fi

echo pass >"$d/proxy.ctl"
it_wait_exit iap $((120 * IT_SLOW))
[[ $IT_RC == 0 ]] || it_fail "lawtap-iap exited $IT_RC"
sent=$(it_kv "$WORK/iap.stats" x3_sent)
reconnects=$(it_kv "$WORK/iap.stats" reconnects)
[[ $sent == "$matched" ]] || it_fail "IAP sent $sent X3 PDUs, mkpcap matched=$matched"
[[ $reconnects == 0 ]] || it_fail "the IAP reconnected $reconnects time(s)"
[[ -z $(ls -A "$d/iapbuf") ]] || it_fail "buffer files left after a clean end"

it_stop med 90
[[ $IT_RC == 0 ]] || it_fail "lawtap-mediator exited $IT_RC after SIGTERM"
it_stop col 30
[[ $IT_RC == 0 ]] || it_fail "lawtap-collector exited $IT_RC after SIGTERM"
it_stop proxy 10
"$IT_PCAPCMP" "$d/expect.pcap" "$d/out/cc.pcap" >"$d/pcapcmp.out" 2>&1 || {
	tail -n 5 "$d/pcapcmp.out" >&2
	it_fail "cc.pcap differs from the expected capture"
}
n=$(it_summary_total "$d/out" hi3_records)
[[ $n == "$matched" ]] || it_fail "collector has $n records, expected $matched"
it_etsi_check --quiet --canonical --contiguous "$d/out/hi2.ber" "$d/out/hi3.ber"
it_check_summary "$d/out"
it_pass "$matched records through a link stalled until the end of the file ($held bytes held on disk meanwhile); nothing lost or doubled"
