#!/usr/bin/env bash
# labels: integration;provisioning
# An LEA's operator-id override on delivered records, read back by an independent decoder
# (Erlang's ASN.1 BER decoder compiled from ETSI's LI-PS-PDU module, the one etsi-check uses:
# prov_ps_headers), and the IAP's X2/X3 connection state in /api/v1/iaps.
#   lea1: no override               <- NL/OPID-1 (full, 10.0.0.1)
#   lea2: --operator-id op-two      <- NL/OPID-1 too, and NL/OPID-2 (iri-only, 2001:db8:1::1)
# Phase 1 (capture times in 2026) is replayed; then `lea modify lea2 --operator-id op-new`;
# phase 2 (capture times from 1800000000, 2027-01-15) is replayed at its recorded pace while the
# test reads `iap list`: x2x3_connected is true while the IAP runs and false once it exited (also
# in the table). Afterwards every record of lea1 carries operatorIdentifier lawtap-op (the
# mediator's), every record of lea2 op-two before the change and op-new after it (by time of
# interception; the start-of-interception events, at the time of mediation, before the change),
# networkElementIdentifier med1 everywhere (there is no per-LEA NE override); each LEA got only
# its own warrants' LIIDs and every CC record the IAP sent; etsi-check passes on all four streams.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/prov.sh"
prov_init prov_operator_id
pki=$WORK/pki
B2=1800000000 # phase 2 capture base time

prov_mediator med
declare -A H2 H3
for lea in lea1 lea2; do
	it_port "H2[$lea]"
	it_port "H3[$lea]"
	it_start_collector "col-$lea" "$pki" "${H2[$lea]}" "${H3[$lea]}" "$WORK/$lea/out"
done
ctl_ok lea add --id lea1 --country NL --hi2 "127.0.0.1:${H2[lea1]}" --hi3 "127.0.0.1:${H3[lea1]}"
ctl_ok lea add --id lea2 --country NL --hi2 "127.0.0.1:${H2[lea2]}" --hi3 "127.0.0.1:${H3[lea2]}" \
	--operator-id op-two
[[ $(ctl_json lea show lea1 | jq -r .operator_id) == null ]] || it_fail "lea1 has an operator_id"
[[ $(ctl_json lea show lea2 | jq -r .operator_id) == op-two ]] || it_fail "lea2 operator_id not stored"
ctl_ok warrant add --liid OPID-1 --country NL --lea lea1 --lea lea2 --target 10.0.0.1 --mode full
ctl_ok warrant add --liid OPID-2 --country NL --lea lea2 --target 2001:db8:1::1 --mode iri-only

gen=(--link ether --target 10.0.0.1 --target 2001:db8:1::1 --expect-target 10.0.0.1)
"$IT_MKPCAP" "${gen[@]}" --count 300 --seed 51 -o "$WORK/in1.pcap" --expect "$WORK/e1.pcap" \
	>"$WORK/mkpcap1.out" || it_fail "mkpcap phase 1"
"$IT_MKPCAP" "${gen[@]}" --count 120 --seed 52 --base-time $B2 --gap-every 40 --gap-ms 3000 \
	-o "$WORK/in2.pcap" --expect "$WORK/e2.pcap" >"$WORK/mkpcap2.out" || it_fail "mkpcap phase 2"
n1=$(it_kv "$WORK/mkpcap1.out" expected)
n2=$(it_kv "$WORK/mkpcap2.out" expected)
((n1 > 0 && n2 > 0)) || it_fail "mkpcap expects nothing ($n1, $n2)"

# ---- phase 1 ----
it_run_iap iap1 "$pki" "$WORK/in1.pcap" "$PROV_XP" "$PROV_TP"
[[ $IT_RC == 0 ]] || it_fail "lawtap-iap (phase 1) exited $IT_RC"

# ---- the override changed ----
ctl_ok lea modify lea2 --operator-id op-new
[[ $(ctl_json lea show lea2 | jq -r .operator_id) == op-new ]] || it_fail "lea modify --operator-id"

# ---- phase 2, paced: the IAP's X2/X3 connection in /api/v1/iaps ----
iap1_member() { # MEMBER: its value as JSON text (true, false, null), "absent" without the entry
	ctl_json iap list | jq -r --arg f "$1" '[.iaps[] | select(.id == "iap1")][0] // {} |
		if has($f) then .[$f] | tojson else "absent" end'
}
x2x3_is() { [[ $(iap1_member x2x3_connected) == "$1" ]]; }
table_x2x3() { # the X2X3 CONNECTED cell of iap1 in `lawtap-ctl iap list`
	ctl_ok iap list
	awk 'NR == 1 { c = index($0, "X2X3 CONNECTED") } $1 == "iap1" && c {
		v = substr($0, c); sub(/ .*/, "", v); print v }' "$WORK/ctl.out"
}
it_start iap2 "$IT_IAP" -r "$WORK/in2.pcap" --mediator "127.0.0.1:$PROV_XP" \
	--tasking "127.0.0.1:$PROV_TP" --ca "$pki/ca.pem" --cert "$pki/iap.pem" --key "$pki/iap.key" \
	--stats "$WORK/iap2.stats" --pace --keep-times
it_wait_for "iap1's X2/X3 connection to show in iap list" 20 x2x3_is true
it_expect_running iap2 # seen while the IAP runs (its replay lasts several seconds)
cell=$(table_x2x3)
[[ $cell == yes ]] || it_fail "iap list table: X2X3 CONNECTED is '$cell' while the IAP runs"
it_log "while the IAP runs: x2x3_connected=true, table: $(grep -E '^(ID|iap1) ' "$WORK/ctl.out" | tr -s ' ' | paste -sd '|')"
it_wait_exit iap2 120
[[ $IT_RC == 0 ]] || it_fail "lawtap-iap (phase 2) exited $IT_RC"
it_wait_for "iap1's X2/X3 connection to show as closed" 20 x2x3_is false
cell=$(table_x2x3)
[[ $cell == no ]] || it_fail "iap list table: X2X3 CONNECTED is '$cell' after the IAP exited"
[[ $(iap1_member connected) == false ]] || it_fail "iap1 still connected (tasking) after exit"
it_log "after the IAP exited: x2x3_connected=false, connected=false"

it_stop med 60
[[ $IT_RC == 0 ]] || it_fail "mediator exited $IT_RC after SIGTERM"
for lea in lea1 lea2; do
	it_stop "col-$lea" 30
	[[ $IT_RC == 0 ]] || it_fail "collector of $lea exited $IT_RC"
	it_check_summary "$WORK/$lea/out"
	it_etsi_check --quiet --canonical --contiguous "$WORK/$lea/out/hi2.ber" "$WORK/$lea/out/hi3.ber"
done

# ---- the headers, decoded from the bytes each LEA received ----
# check LEA RULE: RULE is "OP" (every record) or "OLD NEW" (by time of interception vs B2)
check() {
	local lea=$1 old=$2 new=${3:-$2} out=$WORK/$1/out res
	prov_ps_headers "$out/hi2.ber" "$out/hi3.ber" >"$WORK/$lea/headers.txt"
	res=$(awk -v old="$old" -v new="$new" -v b2=$B2 -v lea="$lea" '
	{
		f = $1; sub(/.*\//, "", f); kind = $2; t = $6; op = $7; ne = $8
		if (kind == "other") next
		want = (t != "-" && t + 0 >= b2) ? new : old
		ph = (t != "-" && t + 0 >= b2) ? 2 : 1
		n[f " " kind " " ph]++; liids[$3] = 1
		if (op != want) { bad++; if (bad <= 5) printf "%s: %s %s %s seq %s time %s: operatorIdentifier %s, expected %s\n", lea, f, kind, $3, $5, t, op, want > "/dev/stderr" }
		if (ne != "med1") { bad++; if (bad <= 5) printf "%s: %s %s seq %s: networkElementIdentifier %s, expected med1\n", lea, f, $3, $5, ne > "/dev/stderr" }
	}
	END {
		for (l in liids) ls = ls (ls == "" ? "" : ",") l
		printf "liids=%s hi3_cc_phase1=%d hi3_cc_phase2=%d hi2_iri_phase1=%d hi2_iri_phase2=%d", ls, n["hi3.ber cc 1"], n["hi3.ber cc 2"], n["hi2.ber iri 1"], n["hi2.ber iri 2"]
		exit bad ? 1 : 0
	}' "$WORK/$lea/headers.txt" 2>"$WORK/$lea/check.err") || {
		cat "$WORK/$lea/check.err" >&2
		it_fail "$lea: PS-PDU header ids differ from the LEA's operator id ($res)"
	}
	echo "$res"
}
r1=$(check lea1 lawtap-op)
r2=$(check lea2 op-two op-new)
it_log "lea1 (no override): $r1"
it_log "lea2 (op-two, then op-new): $r2"
kv() { grep -oE "(^| )$2=[^ ]*" <<<"$1" | sed 's/.*=//'; }
# lea1 holds only OPID-1, every CC record of both phases; its HI2 only the start event
[[ $(kv "$r1" liids) == OPID-1 ]] || it_fail "lea1 LIIDs: $(kv "$r1" liids)"
[[ $(kv "$r1" hi3_cc_phase1) == "$n1" && $(kv "$r1" hi3_cc_phase2) == "$n2" ]] ||
	it_fail "lea1 CC records: $r1, expected $n1 and $n2"
# lea2 holds both warrants: OPID-1's CC records and OPID-2's IRI in both phases
[[ $(kv "$r2" liids | tr ',' '\n' | sort | paste -sd,) == OPID-1,OPID-2 ]] ||
	it_fail "lea2 LIIDs: $(kv "$r2" liids)"
[[ $(kv "$r2" hi3_cc_phase1) == "$n1" && $(kv "$r2" hi3_cc_phase2) == "$n2" ]] ||
	it_fail "lea2 CC records: $r2, expected $n1 and $n2"
(($(kv "$r2" hi2_iri_phase1) > 1 && $(kv "$r2" hi2_iri_phase2) > 0)) ||
	it_fail "lea2 IRI records of OPID-2 missing in a phase: $r2"
# the collector's own decoder agrees on the counts (a cross-check, not the proof)
for lea in lea1 lea2; do
	c=$("$IT_COL" --decode "$WORK/$lea/out/hi3.ber" --json 2>/dev/null | grep -c '"kind":"cc"') || true
	[[ $c == $((n1 + n2)) ]] || it_fail "$lea: lawtap-collector --decode counts $c CC records, expected $((n1 + n2))"
done
it_pass "operatorIdentifier per LEA (lea1 lawtap-op; lea2 op-two, then op-new after lea modify) on $((n1 + n2)) CC records each; x2x3_connected true while the IAP ran, false after"
