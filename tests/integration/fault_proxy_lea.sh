#!/usr/bin/env bash
# labels: integration;fault
# The mediator->collector links are cut again and again by tests/tools/ltproxy while the IAP
# replays 100,000 packets: HI3 every 1.5 s of connection, HI2 every 700 ms (it carries few
# records), RST and FIN alternating. (Time, not bytes: after a cut the mediator resends its whole
# unconfirmed window, so a byte bound below that window would never let it progress.) The mediator reconnects and resends its unconfirmed records; the collector
# drops the duplicates (counted in its summary, never written). The collector's cc.pcap must
# equal mkpcap's expected capture, hi2.ber/hi3.ber must pass etsi-check --canonical
# --contiguous (one copy of each record, in order), and the summary must show no gap or decode
# error. Under sanitizers (LAWTAP_SANITIZE=ON) the capture has 30,000 packets.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
it_init fault_proxy_lea
PROXY=$IT_BUILD/tests/ltproxy
[[ -x $PROXY ]] || it_fail "$PROXY is not built"

# The IAP replays at 200x its recorded pace (mkpcap spreads 100,000 packets over ~2,000 s, so
# ~10 s) keeping the capture's time stamps (--keep-times), so the cuts fall mid-delivery.
count=100000 cut=1500 speed=200
if ((IT_SLOW > 1)); then count=30000 cut=2500 speed=60; fi

pki=$WORK/pki
it_pki "$pki"
"$IT_MKPCAP" --link ether --count "$count" --seed 31 --target 10.0.0.1 \
	--target 2001:db8:1::1 -o "$WORK/in.pcap" --expect "$WORK/expect.pcap" >"$WORK/mkpcap.out"
matched=$(it_kv "$WORK/mkpcap.out" matched)

it_port hi2
it_port hi3
it_port p2
it_port p3
it_port xp
it_port tp
# The mediator delivers to the proxies; the proxies forward to the collector.
it_mediator_conf "$WORK/mediator.yaml" --pki "$pki" --x2x3 "$xp" --tasking "$tp" \
	--hi2 "$p2" --hi3 "$p3" --mode full --target 10.0.0.1 --target 2001:db8:1::1 --drain 90
it_start_collector col "$pki" "$hi2" "$hi3" "$WORK/out"
it_start proxy3 "$PROXY" "$p3" "127.0.0.1:$hi3" --cut-every-ms "$cut" --control "$WORK/p3.ctl"
it_start proxy2 "$PROXY" "$p2" "127.0.0.1:$hi2" --cut-every-ms 700 --control "$WORK/p2.ctl"
it_wait_port proxy3 "$p3"
it_wait_port proxy2 "$p2"
it_start_mediator med "$WORK/mediator.yaml" "$xp" "$tp"

it_run_iap iap "$pki" "$WORK/in.pcap" "$xp" "$tp" --pace --speed "$speed" --keep-times
[[ $IT_RC == 0 ]] || it_fail "lawtap-iap exited $IT_RC"
x3=$(it_kv "$WORK/iap.stats" x3_sent)
[[ $x3 == "$matched" ]] || it_fail "IAP x3_sent=$x3, mkpcap matched=$matched"

# Cuts go on until the collector holds every record (or the bound), then stop so that the
# mediator's drain at SIGTERM ends cleanly.
have_all() { [[ -f $WORK/out/summary.txt ]] && (($(it_summary_total "$WORK/out" hi3_records) >= matched)); }
it_wait_for "the collector to hold all $matched CC records" 120 have_all
echo calm >"$WORK/p3.ctl"
echo calm >"$WORK/p2.ctl"
it_wait_log "$WORK/proxy3.log" 'calm' "proxy3 to stop cutting"
it_wait_log "$WORK/proxy2.log" 'calm' "proxy2 to stop cutting"
cuts3=$(it_count_lines "$WORK/proxy3.log" '^ltproxy: cut ')
cuts2=$(it_count_lines "$WORK/proxy2.log" '^ltproxy: cut ')
it_log "proxy cuts: hi3=$cuts3 hi2=$cuts2"
((cuts3 >= 3)) || it_fail "the HI3 proxy cut only $cuts3 time(s)"
((cuts2 >= 1)) || it_fail "the HI2 proxy never cut"

it_stop med 120
[[ $IT_RC == 0 ]] || it_fail "lawtap-mediator exited $IT_RC after SIGTERM"
it_stop col 30
[[ $IT_RC == 0 ]] || it_fail "lawtap-collector exited $IT_RC after SIGTERM"
it_stop proxy3 10
it_stop proxy2 10

out=$WORK/out
"$IT_PCAPCMP" "$WORK/expect.pcap" "$out/cc.pcap" >"$WORK/pcapcmp.out" 2>&1 || {
	tail -n 5 "$WORK/pcapcmp.out" >&2
	it_fail "cc.pcap differs from the expected capture"
}
it_etsi_check --quiet --canonical --contiguous "$out/hi2.ber" "$out/hi3.ber"
for k in gaps decode_errors; do
	v=$(it_summary_total "$out" "$k")
	[[ $v == 0 ]] || it_fail "collector summary: $k=$v"
done
if grep -E '^liid=' "$out/summary.txt" | grep -qvE ' gaps=0 '; then
	it_fail "collector summary has a LIID line with gaps"
fi
dups=$(it_summary_total "$out" duplicates)
hi3n=$(it_summary_total "$out" hi3_records)
[[ $hi3n == "$matched" ]] || it_fail "collector has hi3_records=$hi3n, expected $matched"
it_pass "$count packets, $matched CC records, cuts hi3=$cuts3 hi2=$cuts2, $dups duplicate(s) received and dropped, none written"
