#!/usr/bin/env bash
# labels: integration;fault
# The IAP-mediator X2/X3 connection is cut again and again by tests/tools/ltproxy (every few MB,
# alternating RST and FIN) while the IAP replays 100,000 packets. The IAP reconnects with backoff
# and resends every unconfirmed batch before new ones; the mediator drops what it already has
# (key: IAP id, run epoch, XID, sequence number). The collector's cc.pcap must equal mkpcap's
# expected capture, hi2.ber/hi3.ber must pass etsi-check --canonical --contiguous, and the
# summary must show no gap, duplicate or decode error. A second case does the same with an
# iri-only warrant (X2 PDUs): iri.csv must hold mkpcap's expected rows, in order, once each.
# The IAP runs with a small buffer (--buffer-mem 1M, --buffer-dir, --buffer-max 4M) so batches
# overflow to disk, are read back from there, and the file replay waits when both are full
# (back-pressure).
# Under sanitizers (LAWTAP_SANITIZE=ON) the capture has 30,000 packets (and cuts come sooner).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
it_init fault_proxy_x2x3
PROXY=$IT_BUILD/tests/ltproxy
[[ -x $PROXY ]] || it_fail "$PROXY is not built"

count=100000
if ((IT_SLOW > 1)); then count=30000; fi

pki=$WORK/pki
it_pki "$pki"

# run_case TAG MODE CUT_BYTES
run_case() {
	local tag=$1 mode=$2 cut=$3 d=$WORK/$1
	mkdir -p "$d"
	"$IT_MKPCAP" --link ether --pad --count "$count" --seed 21 --target 10.0.0.1 \
		--target 2001:db8:1::1 -o "$d/in.pcap" --expect "$d/expect.pcap" \
		--expect-iri "$d/expect-iri.csv" >"$d/mkpcap.out"
	local matched hi2 hi3 xp tp pp
	matched=$(it_kv "$d/mkpcap.out" matched)
	it_port hi2
	it_port hi3
	it_port xp
	it_port tp
	it_port pp
	it_mediator_conf "$d/mediator.yaml" --pki "$pki" --x2x3 "$xp" --tasking "$tp" \
		--hi2 "$hi2" --hi3 "$hi3" --mode "$mode" --target 10.0.0.1 --target 2001:db8:1::1 \
		--drain 60 --state "$d/state"
	it_start_collector "$tag-col" "$pki" "$hi2" "$hi3" "$d/out"
	it_start_mediator "$tag-med" "$d/mediator.yaml" "$xp" "$tp"
	it_start "$tag-proxy" "$PROXY" "$pp" "127.0.0.1:$xp" --cut-every-bytes "$cut" \
		--control "$d/proxy.ctl"
	it_wait_port "$tag-proxy" "$pp"

	# The IAP's X2/X3 goes through the proxy; tasking goes straight to the mediator.
	it_run_iap "$tag-iap" "$pki" "$d/in.pcap" "$pp" "$tp" --buffer-mem 1M \
		--buffer-dir "$d/iapbuf" --buffer-max 4M
	[[ $IT_RC == 0 ]] || it_fail "$tag: lawtap-iap exited $IT_RC"
	echo calm >"$d/proxy.ctl"
	local st=$WORK/$tag-iap.stats cuts reconnects resent sent
	cuts=$(it_count_lines "$WORK/$tag-proxy.log" '^ltproxy: cut ')
	reconnects=$(it_kv "$st" reconnects)
	resent=$(it_kv "$st" resent)
	if [[ $mode == full ]]; then sent=$(it_kv "$st" x3_sent); else sent=$(it_kv "$st" x2_sent); fi
	it_log "$tag: proxy cuts=$cuts; IAP reconnects=$reconnects resent=$resent sent=$sent (matched $matched)"
	((cuts >= 3)) || it_fail "$tag: the proxy cut only $cuts time(s)"
	((reconnects >= 3)) || it_fail "$tag: the IAP reconnected only $reconnects time(s)"
	[[ $sent == "$matched" ]] || it_fail "$tag: IAP sent $sent PDUs, mkpcap matched=$matched"
	[[ -d $d/iapbuf ]] || it_fail "$tag: the IAP made no --buffer-dir"
	[[ -z $(ls -A "$d/iapbuf") ]] || it_fail "$tag: buffer files left after a clean end"

	it_stop "$tag-med" 90
	[[ $IT_RC == 0 ]] || it_fail "$tag: lawtap-mediator exited $IT_RC after SIGTERM"
	it_stop "$tag-col" 30
	[[ $IT_RC == 0 ]] || it_fail "$tag: lawtap-collector exited $IT_RC after SIGTERM"
	it_stop "$tag-proxy" 10

	local out=$d/out n
	if [[ $mode == full ]]; then
		"$IT_PCAPCMP" "$d/expect.pcap" "$out/cc.pcap" >"$d/pcapcmp.out" 2>&1 || {
			tail -n 5 "$d/pcapcmp.out" >&2
			it_fail "$tag: cc.pcap differs from the expected capture"
		}
		n=$(it_summary_total "$out" hi3_records)
	else
		it_iri_rows "$out/iri.csv" >"$d/iri-rows.csv"
		if ! diff -q "$d/expect-iri.csv" "$d/iri-rows.csv" >/dev/null; then
			diff "$d/expect-iri.csv" "$d/iri-rows.csv" | head -n 10 >&2
			it_fail "$tag: iri.csv rows differ from the expected (see $tag/iri-rows.csv)"
		fi
		n=$(wc -l <"$d/iri-rows.csv")
		[[ $(it_summary_total "$out" hi3_records) == 0 ]] || it_fail "$tag: CC for iri-only"
	fi
	[[ $n == "$matched" ]] || it_fail "$tag: collector has $n records, expected $matched"
	it_etsi_check --quiet --canonical --contiguous "$out/hi2.ber" "$out/hi3.ber"
	it_check_summary "$out"
	SUMMARY+="$tag: $matched records, $cuts cuts, $resent batches resent; "
}

SUMMARY=""
if ((IT_SLOW > 1)); then
	run_case cc full 1500000
	run_case iri iri-only 400000
else
	run_case cc full 4000000
	run_case iri iri-only 1000000
fi
it_pass "$count packets per case; ${SUMMARY}nothing lost or doubled"
