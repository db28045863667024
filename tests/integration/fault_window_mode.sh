#!/usr/bin/env bash
# labels: integration;fault
# An LEA in ack_mode window (docs/delivery.md), seeded from the config file into the store (the
# store must carry ack_mode/resend_window through to the handovers), while tests/tools/ltproxy
# cuts its HI3 link again and again (and HI2 now and then) as the IAP replays a capture. In
# window mode the mediator counts a record as confirmed once resend_window newer records were
# written and sends no keep-alive to confirm traffic; after a reconnect it resends from the
# oldest unconfirmed record. The collector's cc.pcap must equal mkpcap's expected capture,
# hi2.ber/hi3.ber must pass etsi-check --canonical --contiguous, the summary must show no gap,
# and the collector must have seen only the few keep-alives of the final drain (none
# confirming traffic: keepalive mode would send one per MiB, dozens here). 30,000 packets in the
# normal build, 10,000 under sanitizers (LAWTAP_SANITIZE=ON).
#
# resend_window: a record is lost at a cut only when it was in flight (written by the mediator,
# not yet stored by the collector: the mediator's socket send buffer, at most tcp_wmem max =
# 4 MiB here, ltproxy's 64 KiB buffer and its sockets, the collector's receive buffer) and yet
# already counted as confirmed, i.e. resend_window newer records were written after it. So the
# window must hold more records than the path can have in flight. Normal build: the replay is
# paced at ~3,500 HI3 records/s of ~400 octets (hi3.ber / records), ~1.4 MB/s, and the
# collector keeps up, so the path holds well under a second of traffic; 12,000 records are
# ~4.9 MB, more than a full 4 MiB send buffer plus the proxy's buffer, and ~3.4 s of traffic,
# while staying below the run's ~21,000 HI3 records so the window does advance (and free
# spool) during the run. Under sanitizers every process is slower, the replay ~1,000 records/s:
# 4,000 records are ~4 s of traffic, below the run's ~7,000 records.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/fault_common.sh"
it_init fault_window_mode
PROXY=$IT_BUILD/tests/ltproxy
[[ -x $PROXY ]] || it_fail "$PROXY is not built"

# mkpcap spreads 100,000 packets over ~2,000 s: 30,000 at 100x is ~6 s of replay.
count=30000 speed=100 cut=1200 window=12000
if ((IT_SLOW > 1)); then count=10000 speed=30 cut=1500 window=4000; fi

fc_setup "$count" 41
# The mediator delivers through the proxies: HI2/HI3 in the config become the proxies' ports.
it_port P2
it_port P3
sed -i -e "s/127\\.0\\.0\\.1:$HI2\$/127.0.0.1:$P2/" -e "s/127\\.0\\.0\\.1:$HI3\$/127.0.0.1:$P3/" \
	"$WORK/mediator.yaml"
tmp=$WORK/mediator.yaml.tmp
awk -v w="$window" '{ print } /^    reconnect_max:/ { print "    ack_mode: window"; print "    resend_window: " w }' \
	"$WORK/mediator.yaml" >"$tmp"
mv "$tmp" "$WORK/mediator.yaml"
grep -q "hi3: 127.0.0.1:$P3" "$WORK/mediator.yaml" || it_fail "mediator.yaml: HI3 not via the proxy"
grep -q '^    ack_mode: window' "$WORK/mediator.yaml" || it_fail "mediator.yaml: no ack_mode"

fc_collector
it_start proxy3 "$PROXY" "$P3" "127.0.0.1:$HI3" --cut-every-ms "$cut" --control "$WORK/p3.ctl"
it_start proxy2 "$PROXY" "$P2" "127.0.0.1:$HI2" --cut-every-ms 3000 --control "$WORK/p2.ctl"
it_wait_port proxy3 "$P3"
it_wait_port proxy2 "$P2"
fc_start_mediator

# The seeded store carries the LEA's ack settings (schema version 3).
store=$WORK/state/lawtap.db
[[ -f $store ]] || it_fail "no store at $store"
got=$(sqlite3 "file:$store?mode=ro" "SELECT ack_mode || '/' || resend_window FROM leas")
[[ $got == "window/$window" ]] || it_fail "store: lea ack_mode/resend_window=$got, expected window/$window"

fc_start_iap --pace --speed "$speed" --keep-times
it_wait_exit iap 300
[[ $IT_RC == 0 ]] || it_fail "lawtap-iap exited $IT_RC"
x3=$(it_kv "$WORK/iap.stats" x3_sent)
[[ $x3 == "$MATCHED" ]] || it_fail "IAP x3_sent=$x3, mkpcap matched=$MATCHED"

# Cuts go on until the collector holds every record, then stop so the drain ends cleanly.
it_wait_for "the collector to hold all $MATCHED CC records" 180 fc_have_all
echo calm >"$WORK/p3.ctl"
echo calm >"$WORK/p2.ctl"
it_wait_log "$WORK/proxy3.log" 'calm' "proxy3 to stop cutting"
it_wait_log "$WORK/proxy2.log" 'calm' "proxy2 to stop cutting"
cuts3=$(it_count_lines "$WORK/proxy3.log" '^ltproxy: cut ')
cuts2=$(it_count_lines "$WORK/proxy2.log" '^ltproxy: cut ')
it_log "proxy cuts: hi3=$cuts3 hi2=$cuts2"
((cuts3 >= 3)) || it_fail "the HI3 proxy cut only $cuts3 time(s)"

window_check() {
	it_stop proxy3 10
	it_stop proxy2 10
	local ka
	ka=$(grep -oE 'stopped: .*keepalives=[0-9]+' "$WORK/col.log" | tail -n 1 | sed 's/.*keepalives=//')
	[[ -n $ka ]] || it_fail "collector log: no keepalives count"
	it_log "collector keep-alives: $ka (window mode: only the drain's)"
	((ka <= 8)) || it_fail "collector saw $ka keep-alives: the LEA did not run in window mode"
}
FC_EXTRA_CHECK=window_check
fc_stop_and_check "window mode (resend_window=$window), $count packets, cuts hi3=$cuts3 hi2=$cuts2"
