#!/usr/bin/env bash
# labels: integration;fault
# The collector (the LEA) is killed with SIGKILL three times in the middle of a 100,000-packet
# replay, at different moments, and started again each time on the same output directory. It
# writes hi2.ber, hi3.ber, cc.pcap and iri.csv through separate buffers, so a kill can leave
# cc.pcap/iri.csv behind or ahead of hi3.ber/hi2.ber, or ending in a partial record; on open the
# collector reconciles them with the BER files (docs/delivery.md), and the mediator resends what
# was not confirmed. Result as in fault_collector_outage.sh: cc.pcap equals the expected capture
# (0 missing, 0 duplicated, order kept), iri.csv one row per IRI record of hi2.ber in the same
# order (no repeated row, one BEGIN per LIID/CIN), hi2.ber/hi3.ber pass etsi-check --canonical
# --contiguous, no gap in the summary. Under sanitizers: 30,000 packets. The collector runs with
# --sync (hi2.ber/hi3.ber fdatasync'd before every confirmation): its summary must count those
# syncs, and the recovery after each kill is the same.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/fault_common.sh"
it_init fault_collector_kill

count=100000 speed=200
if ((IT_SLOW > 1)); then count=30000 speed=60; fi
fc_setup "$count" 47
# Small output blocks (store.c): hi3.ber, cc.pcap, hi2.ber and iri.csv then reach the kernel at
# independent moments all the time, so each kill finds them out of step (cc.pcap behind or
# ahead of hi3.ber, a pcap record cut between its header and its packet), which the default
# 1 MiB blocks make likely only at higher rates.
export LAWTAP_COLLECTOR_OUT_BUF=4096
FC_COL_ARGS=(--sync)
fc_start_all
fc_start_iap --pace --speed "$speed" --keep-times

# Kill points: hi3.ber past 15 %, 40 % and 65 % of the expected capture's size (hi3.ber grows
# faster than cc.pcap: each record carries its PS-PDU header), so all three fall mid-replay.
total=$(stat -c %s "$WORK/expect.pcap")
kills=0
for pct in 15 40 65; do
	it_wait_for "hi3.ber past $pct % of the capture" 120 fc_hi3_bytes_above $((total * pct / 100))
	it_expect_running iap
	kill -KILL "${IT_PID[col]}"
	wait "${IT_PID[col]}" 2>/dev/null || true
	unset "IT_PID[col]"
	kills=$((kills + 1))
	mv "$WORK/col.log" "$WORK/col-killed-$kills.log"
	it_log "collector killed (SIGKILL) with hi3.ber at $(stat -c %s "$WORK/out/hi3.ber") bytes, cc.pcap at $(stat -c %s "$WORK/out/cc.pcap"); restarting it"
	fc_restart_collector
	grep -hoE '(cc\.pcap|iri\.csv): .*' "$WORK/col.log" | sed 's/^/    /' >&2 || true
done

it_wait_exit iap 180
[[ $IT_RC == 0 ]] || it_fail "lawtap-iap exited $IT_RC"
x3=$(it_kv "$WORK/iap.stats" x3_sent)
[[ $x3 -ge $MATCHED ]] || it_fail "IAP x3_sent=$x3, mkpcap matched=$MATCHED"
it_wait_for "the collector to hold all $MATCHED CC records" 120 fc_have_all

# iri.csv against hi2.ber: the same (liid, cin, seq) rows in the same order, none missing.
iri_matches_hi2() {
	local out=$WORK/out
	"$IT_COL" --decode "$out/hi2.ber" >"$WORK/hi2.decode" || it_fail "hi2.ber does not decode"
	grep -E '^offset=' "$WORK/hi2.decode" |
		sed -E 's/.* seq=([0-9]+) liid=([^ ]*) cin=([0-9]*) .*/\2,\3,\1/' >"$WORK/hi2.keys"
	awk -F, 'NR > 1 { print $1 "," $2 "," $3 }' "$out/iri.csv" >"$WORK/csv.keys"
	local n
	n=$(wc -l <"$WORK/hi2.keys")
	((n > 0)) || it_fail "hi2.ber holds no IRI record"
	cmp -s "$WORK/hi2.keys" "$WORK/csv.keys" || {
		diff "$WORK/hi2.keys" "$WORK/csv.keys" | head -n 5 >&2
		it_fail "iri.csv rows ($(wc -l <"$WORK/csv.keys")) differ from hi2.ber's IRI records ($n)"
	}
	it_log "iri.csv: $n rows, one per IRI record of hi2.ber, in order"
	# --sync: the last collector run synced before its confirmations (summary, stop line)
	local syncs
	syncs=$(it_summary_total "$WORK/out" syncs)
	it_log "collector syncs (last run): $syncs"
	((syncs > 0)) || it_fail "collector --sync: no fdatasync before a confirmation counted"
	grep -qE 'stopped: .* syncs=[1-9]' "$WORK/col.log" || it_fail "collector stop line: no syncs"
}
FC_EXTRA_CHECK=iri_matches_hi2
fc_stop_and_check "collector SIGKILL x$kills mid-replay"
