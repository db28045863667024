#!/usr/bin/env bash
# labels: integration;live;fault
# Live capture with the mediator away and the IAP's buffer full (issue 4): lawtap-iap -i lo with
# the smallest bounds (--buffer-mem 1M, --buffer-dir, --buffer-max 1M). The mediator is stopped,
# about 4 MB of UDP to the target 127.0.0.77 follows: the IAP keeps reading the interface (its
# reconnect attempts never block the capture loop), fills memory and disk, then DROPS captured
# packets and counts them (error "BUFFER FULL ... DROPPING", dropped=N in its statistics); the
# buffer directory never holds more than --buffer-max. The mediator comes back on the same
# state, the IAP reconnects and resends what it holds, and datagrams sent afterwards arrive too.
# The collector then holds exactly the X3 PDUs the IAP sent (x3_sent = hi3_records, no gap, no
# duplicate): dropped packets took no sequence number. Needs root (exit 77 elsewhere).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
if [[ $(id -u) != 0 ]]; then
	echo "iap_live_drops: needs root to open lo; skipped" >&2
	exit 77
fi
it_init iap_live_drops
it_need tshark
getent passwd nobody >/dev/null || it_fail "no user nobody to drop to"

pki=$WORK/pki
it_pki "$pki"
chmod 0755 "$WORK"
out=$WORK/out
buf=$WORK/iapbuf
mkdir -p "$out" "$buf"
chown nobody "$buf" # -i writes its buffer files after dropping root
it_port hi2; it_port hi3; it_port xp; it_port tp; it_port dport
it_mediator_conf "$WORK/mediator.yaml" --pki "$pki" --x2x3 "$xp" --tasking "$tp" \
	--hi2 "$hi2" --hi3 "$hi3" --mode full --target 127.0.0.77
it_start_collector col "$pki" "$hi2" "$hi3" "$out"
it_start_mediator med "$WORK/mediator.yaml" "$xp" "$tp"
it_start iap "$IT_IAP" -i lo --user nobody --mediator "127.0.0.1:$xp" --tasking "127.0.0.1:$tp" \
	--ca "$pki/ca.pem" --cert "$pki/iap.pem" --key "$pki/iap.key" --stats "$WORK/iap.stats" \
	--buffer-mem 1M --buffer-dir "$buf" --buffer-max 1M
it_wait_log "$WORK/iap.log" 'snapshot [0-9]+ applied \(1 tasks\)' "the IAP applies its task" 20

send() { # PREFIX N BYTES: N datagrams of BYTES bytes to the target, each starting PREFIX-<i>
	local i pad
	pad=$(printf '%*s' "$3" '' | tr ' ' 'x')
	for ((i = 0; i < $2; i++)); do
		printf '%s-%05d-%s' "$1" "$i" "${pad:0:$(($3 - 12))}" >"/dev/udp/127.0.0.77/$dport" || true
	done
}
send before 20 100

# The mediator goes away (clean stop: what it took is delivered); the IAP loses its links.
it_stop med 60
[[ $IT_RC == 0 ]] || it_fail "lawtap-mediator exited $IT_RC after SIGTERM"
mv "$WORK/med.log" "$WORK/med-first.log"
it_wait_log "$WORK/iap.log" 'mediator link: ' "the IAP to notice the mediator is gone" 30

# About 4 MB to the target (and as many ICMP replies from it): far more than 1M + 1M.
full() { grep -q 'BUFFER FULL (memory and disk): DROPPING captured packets' "$WORK/iap.log"; }
for ((round = 0; round < 10 && !$(full && echo 1 || echo 0); round++)); do
	send "away$round" 300 1400
done
it_wait_for "the IAP to report BUFFER FULL ... DROPPING" 30 full
it_expect_running iap
used=$(du -sb "$buf" | cut -f1)
files=$(find "$buf" -name 'iap-*.buf' | wc -l)
it_log "buffer directory while full: $used bytes in $files file(s)"
((files >= 1)) || it_fail "the IAP wrote no buffer file to $buf while the mediator was away"
# The files hold at most --buffer-max bytes of records (plus the directory's own size).
((used <= 1048576 + 4096)) || it_fail "buffer directory holds $used bytes, above --buffer-max 1M"

# The mediator comes back on the same state: the IAP reconnects and resends what it holds.
it_start_mediator med "$WORK/mediator.yaml" "$xp" "$tp"
it_wait_log "$WORK/iap.log" 'mediator link .*: connected again' "the IAP to reconnect" 30
it_wait_for "the IAP's buffer to drain" 60 bash -c "[[ -z \$(find '$buf' -name 'iap-*.buf') ]]"
send after 20 100
have_after() {
	[[ -s $out/cc.pcap ]] || return 1
	local v
	v=$(tshark -r "$out/cc.pcap" -Y "udp.dstport == $dport" -T fields -e udp.payload 2>/dev/null |
		grep -c '^6166746572') || return 1 # "after"
	((v >= 20))
}
it_wait_for "the 20 datagrams sent after the outage in cc.pcap" 60 have_after

it_stop iap 30
[[ $IT_RC == 0 ]] || it_fail "lawtap-iap -i exited $IT_RC after SIGTERM"
it_stop med 60
[[ $IT_RC == 0 ]] || it_fail "lawtap-mediator exited $IT_RC after SIGTERM"
it_stop col 30
[[ $IT_RC == 0 ]] || it_fail "lawtap-collector exited $IT_RC after SIGTERM"

dropped=$(it_kv "$WORK/iap.stats" dropped)
x3=$(it_kv "$WORK/iap.stats" x3_sent)
reconnects=$(it_kv "$WORK/iap.stats" reconnects)
((dropped > 0)) || it_fail "the IAP counted no dropped packets (dropped=$dropped)"
((reconnects >= 1)) || it_fail "the IAP reports reconnects=$reconnects"
hi3n=$(it_summary_total "$out" hi3_records)
[[ $x3 == "$hi3n" ]] || it_fail "IAP sent x3_sent=$x3, collector holds hi3_records=$hi3n"
it_check_summary "$out"
it_pass "buffer full while the mediator was away: $dropped packets dropped and counted, disk bounded ($used bytes), $x3 X3 PDUs all delivered after the reconnect"
