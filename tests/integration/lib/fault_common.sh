# shellcheck shell=bash
# tests/integration/lib/fault_common.sh: helpers of the delivery fault tests (fault_*.sh of the
# mediator/collector side), sourced after common.sh and it_init.
#
#   fc_setup COUNT SEED [MEDIATOR_YAML_LINES]  # PKI, capture + expectations, ports, config
#   fc_start_all                         # collector + mediator
#   fc_start_mediator                    # (again, after a kill)
#   fc_start_iap [args]                  # IAP over the capture, in the background (name iap)
#   fc_restart_collector                 # the collector again, same output directory
#   fc_hi3_bytes_above N                 # 0 when the collector's hi3.ber holds more than N bytes
#   fc_have_all                          # 0 when the summary counts every expected CC record
#   fc_rss_kb NAME                       # VmRSS of a running process, in kB
#   fc_stop_and_check TAG                # stops everything, compares the outputs, it_pass
#                                        # (calls $FC_EXTRA_CHECK first when set)
# Sets PKI HI2 HI3 XP TP MATCHED.

# fc_setup COUNT SEED [EXTRA]: EXTRA lines go into the config's mediator section.
fc_setup() {
	local count=$1 seed=$2 extra=${3:-}
	PKI=$WORK/pki
	[[ -f $PKI/ca.pem ]] || it_pki "$PKI"
	"$IT_MKPCAP" --link ether --count "$count" --seed "$seed" --target 10.0.0.1 \
		--target 2001:db8:1::1 -o "$WORK/in.pcap" --expect "$WORK/expect.pcap" \
		>"$WORK/mkpcap.out"
	MATCHED=$(it_kv "$WORK/mkpcap.out" matched)
	it_port HI2
	it_port HI3
	it_port XP
	it_port TP
	it_mediator_conf "$WORK/mediator.yaml" --pki "$PKI" --x2x3 "$XP" --tasking "$TP" \
		--hi2 "$HI2" --hi3 "$HI3" --mode full --target 10.0.0.1 --target 2001:db8:1::1 \
		--drain 90 --state "$WORK/state"
	if [[ -n $extra ]]; then
		local tmp=$WORK/mediator.yaml.tmp
		awk -v extra="$extra" '{ print } /^  drain_timeout:/ { print extra }' \
			"$WORK/mediator.yaml" >"$tmp"
		mv "$tmp" "$WORK/mediator.yaml"
	fi
	mkdir -p "$WORK/out"
}

fc_start_mediator() {
	it_start_mediator med "$WORK/mediator.yaml" "$XP" "$TP"
}

fc_start_all() {
	fc_collector
	fc_start_mediator
}

fc_start_iap() {
	it_start iap "$IT_IAP" -r "$WORK/in.pcap" --mediator "127.0.0.1:$XP" \
		--tasking "127.0.0.1:$TP" --ca "$PKI/ca.pem" --cert "$PKI/iap.pem" \
		--key "$PKI/iap.key" --stats "$WORK/iap.stats" "$@"
}

# fc_collector: starts the collector on WORK/out (again after a stop: same directory). No leak
# suppression: a collector stopped while the mediator is sending used to report ~1 KB of
# OpenSSL allocations at exit (its connection threads freed their TLS sessions after the server
# had let the process exit); handover/collector/listener.c now frees them first.
# FC_COL_ARGS: extra options of the collector (an array, e.g. (--sync)).
fc_collector() {
	it_start_collector col "$PKI" "$HI2" "$HI3" "$WORK/out" ${FC_COL_ARGS[@]+"${FC_COL_ARGS[@]}"}
}

fc_restart_collector() { fc_collector; }

fc_hi3_bytes_above() {
	local f=$WORK/out/hi3.ber
	[[ -z ${IT_PID[iap]:-} ]] || it_alive "${IT_PID[iap]}" ||
		it_fail "lawtap-iap ended before mid-replay (see iap.log)"
	[[ -f $f ]] && (($(stat -c %s "$f") > $1))
}

fc_hi3_records() {
	if [[ -f $WORK/out/summary.txt ]]; then it_summary_total "$WORK/out" hi3_records; else echo 0; fi
}

fc_have_all() {
	[[ -f $WORK/out/summary.txt ]] && (($(it_summary_total "$WORK/out" hi3_records) >= MATCHED))
}

fc_rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/${IT_PID[$1]}/status"
}

# fc_exit_stats HI: the mediator's exit statistics line of lea1 hiHI (FC_LINE) and its
# pdu_ack_requests / pdu_ack_responses (FC_REQ, FC_RESP); fails when the line or a counter is
# missing.
fc_exit_stats() {
	FC_LINE=$(grep -E "^lea=lea1 hi=$1 " "$WORK/med.out") ||
		it_fail "mediator exit statistics: no line for hi$1"
	FC_REQ=$(grep -oE ' pdu_ack_requests=[0-9]+' <<<"$FC_LINE" | cut -d= -f2)
	FC_RESP=$(grep -oE ' pdu_ack_responses=[0-9]+' <<<"$FC_LINE" | cut -d= -f2)
	[[ -n $FC_REQ && -n $FC_RESP ]] || it_fail "exit statistics hi$1: no pdu_ack counters"
}

# fc_stop_and_check TAG: the mediator drains (SIGTERM), the collector stops; then cc.pcap must
# equal the expected capture, the BER files pass etsi-check, the summary shows no gap, iri.csv
# has one BEGIN per LIID/CIN and no repeated row.
fc_stop_and_check() {
	local tag=$1 out=$WORK/out k v
	it_stop med 120
	[[ $IT_RC == 0 ]] || it_fail "lawtap-mediator exited $IT_RC after SIGTERM"
	it_stop col 30
	[[ $IT_RC == 0 ]] || it_fail "lawtap-collector exited $IT_RC after SIGTERM"
	"$IT_PCAPCMP" "$WORK/expect.pcap" "$out/cc.pcap" >"$WORK/pcapcmp.out" 2>&1 || {
		tail -n 5 "$WORK/pcapcmp.out" >&2
		it_fail "cc.pcap differs from the expected capture (missing, duplicated or reordered)"
	}
	it_etsi_check --quiet --canonical --contiguous "$out/hi2.ber" "$out/hi3.ber"
	for k in gaps decode_errors; do
		v=$(it_summary_total "$out" "$k")
		[[ $v == 0 ]] || it_fail "collector summary: $k=$v"
	done
	if grep -E '^liid=' "$out/summary.txt" | grep -qvE ' gaps=0 '; then
		it_fail "collector summary has a LIID line with gaps"
	fi
	v=$(it_summary_total "$out" hi3_records)
	[[ $v == "$MATCHED" ]] || it_fail "collector has hi3_records=$v, expected $MATCHED"
	local rep begins cins
	rep=$(tail -n +2 "$out/iri.csv" | sort | uniq -d | wc -l)
	[[ $rep == 0 ]] || it_fail "iri.csv has $rep repeated row(s)"
	begins=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		tolower($c["iri_type"]) == "begin" { print $c["liid"] "/" $c["cin"] }' "$out/iri.csv" | sort)
	cins=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		{ print $c["liid"] "/" $c["cin"] }' "$out/iri.csv" | sort -u)
	[[ -n $begins && $begins == "$(sort -u <<<"$begins")" ]] ||
		it_fail "iri.csv: a LIID/CIN without BEGIN or with two: $begins"
	[[ $begins == "$cins" ]] || it_fail "iri.csv: BEGIN per LIID/CIN ($begins) vs rows ($cins)"
	[[ -z ${FC_EXTRA_CHECK:-} ]] || "$FC_EXTRA_CHECK"
	local dups
	dups=$(it_summary_total "$out" duplicates)
	it_pass "$tag: $MATCHED CC records, 0 missing, 0 duplicated in the output, order kept; $dups duplicate(s) received and dropped by the collector"
}

# fc_collector_opts ARGS...: fc_collector with extra lawtap-collector options (--no-pdu-ack).
fc_collector_opts() {
	it_start_collector col "$PKI" "$HI2" "$HI3" "$WORK/out" "$@"
}

# fc_lea_lines LINE...: adds settings to the config's first LEA (after reconnect_max), e.g.
# fc_lea_lines "ack_mode: pdu-ack".
fc_lea_lines() {
	local tmp=$WORK/mediator.yaml.tmp lines
	lines=$(printf '    %s\n' "$@")
	awk -v lines="$lines" '{ print } /^    reconnect_max:/ && !done { print lines; done = 1 }' \
		"$WORK/mediator.yaml" >"$tmp"
	mv "$tmp" "$WORK/mediator.yaml"
}

# fc_via_proxies: the mediator delivers through proxies (ports P2, P3 set here) instead of
# straight to the collector's HI2/HI3.
fc_via_proxies() {
	it_port P2
	it_port P3
	sed -i -e "s/127\\.0\\.0\\.1:$HI2\$/127.0.0.1:$P2/" -e "s/127\\.0\\.0\\.1:$HI3\$/127.0.0.1:$P3/" \
		"$WORK/mediator.yaml"
	grep -q "hi3: 127.0.0.1:$P3" "$WORK/mediator.yaml" || it_fail "mediator.yaml: HI3 not via the proxy"
}
