#!/usr/bin/env bash
# labels: integration;robustness
# Bad input everywhere, and each program says what was wrong and where:
#  - IAP: a truncated pcap (every packet before the cut is still delivered, non-zero exit, a
#    message naming the file), a file that is not a capture, an unknown link type (147);
#  - collector: garbage on HI2 and HI3 from a client with a valid mediator certificate (a decode
#    error is logged, the collector keeps running and serves a later good connection);
#  - mediator: garbage and oversized X2/X3 PDUs from a client with a valid IAP certificate
#    (logged, connection dropped, mediator keeps running and serves the real IAP after);
#  - mediator configs: a missing key, a wrong type, a bad LIID, a bad country, an unknown LEA,
#    an unknown key: each a non-zero exit and a message naming the file and the key.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
it_init bad_input
it_need openssl

pki=$WORK/pki
it_pki "$pki"
IT_CA=$pki/ca.pem
it_port hi2
it_port hi3
it_port xp
it_port tp
out=$WORK/out
targets=(--target 10.0.0.1 --target 2001:db8:1::/64)
it_mediator_conf "$WORK/mediator.yaml" --pki "$pki" --x2x3 "$xp" --tasking "$tp" \
	--hi2 "$hi2" --hi3 "$hi3" --mode full "${targets[@]}"

# ---------- bad configs (no server needed) ----------
conf_case() { # NAME KEY-REGEX SED-EXPRESSION [FILE-REGEX]
	local name=$1 key=$2 expr=$3 f=$WORK/conf-$1.yaml rc=0 file=${4:-conf-$1[.]yaml}
	sed -e "$expr" "$WORK/mediator.yaml" >"$f"
	! cmp -s "$f" "$WORK/mediator.yaml" || it_fail "config case $name: the edit changed nothing"
	timeout -k 2 $((10 * IT_SLOW)) "$IT_MED" -c "$f" >"$WORK/conf-$name.out" 2>"$WORK/conf-$name.log" || rc=$?
	[[ $rc != 0 ]] || it_fail "config case $name: the mediator accepted the config"
	[[ $rc != 124 && $rc != 137 ]] || it_fail "config case $name: the mediator kept running"
	it_check_sanitizer "conf-$name"
	cat "$WORK/conf-$name.out" >>"$WORK/conf-$name.log"
	it_grep_log "$WORK/conf-$name.log" "$key" "config case $name names the key"
	it_grep_log "$WORK/conf-$name.log" "$file" "config case $name names the file"
	it_log "config $name: refused: $(grep -iE "$key" "$WORK/conf-$name.log" | head -n 1)"
}
conf_case missing_key 'mediator[.]operator_id' '/^  operator_id:/d'
conf_case wrong_type 'mediator[.]drain_timeout' 's/^  drain_timeout: .*/  drain_timeout: soon/'
conf_case bad_liid 'warrants.*liid' 's/^  - liid: .*/  - liid: LIID-THIS-ONE-IS-FAR-TOO-LONG-FOR-TS102232/'
conf_case bad_country 'leas.*country' '0,/^    country: NL/s//    country: N1/'
conf_case unknown_lea 'warrants.*lea.*lea9' 's/^    lea: lea1/    lea: lea9/'
conf_case unknown_key 'mediator[.]colour' 's/^  drain_timeout:/  colour: blue\n  drain_timeout:/'
conf_case bad_tls_file 'mediator[.]tls' "s#$pki/mediator.pem#$pki/mediator-missing.pem#" 'mediator-missing[.]pem'

# ---------- servers up ----------
it_start_collector col "$pki" "$hi2" "$hi3" "$out"
it_start_mediator med "$WORK/mediator.yaml" "$xp" "$tp"
clog=$WORK/col.log
mlog=$WORK/med.log

# ---------- garbage on HI2 and HI3 ----------
re_dec='decod|malformed|invalid|bad (ber|record|pdu)|parse'
for port in "$hi2" "$hi3"; do
	n=$(it_count_lines "$clog" "$re_dec")
	# a definite-length SEQUENCE that is no PS-PDU, then bytes that frame as nothing
	{
		printf '\x30\x0a\xa1\x08\x80\x02\x01\x02\x81\x02\xff\xff'
		head -c 600 /dev/urandom
	} | it_sclient "c-garbage-$port" "$port" "$pki/mediator.pem" "$pki/mediator.key"
	it_wait_more "$clog" "$re_dec" "$n" "collector logs a decode error for garbage on port $port"
	it_expect_running col
done

# ---------- garbage and oversized X2/X3 PDUs ----------
# each refusal logged with what was wrong, and the connection dropped
re_x='(unknown|invalid|malformed|bad|header|length|decod).*(drop|clos|disconnect)'
n=$(it_count_lines "$mlog" "$re_x")
# version 7.9, pduType 99, headerLength 3: no X2/X3 PDU at all
printf '\x07\x09\x00\x63\x00\x00\x00\x03\x00\x00\x00\x00%040d' 0 |
	it_sclient m-garbage "$xp" "$pki/iap.pem" "$pki/iap.key"
it_wait_more "$mlog" "$re_x" "$n" "mediator logs a garbage X2/X3 PDU and drops the connection"
it_expect_running med
n=$(it_count_lines "$mlog" "$re_x")
# an X3 PDU (version 0.5) whose headerLength 12 is shorter than the fixed 40-byte header
{
	printf '\x00\x05\x00\x02\x00\x00\x00\x0c\x00\x00\x00\x10\x00\x05\x00\x02'
	head -c 24 /dev/zero
	head -c 16 /dev/urandom
} | it_sclient m-badhdr "$xp" "$pki/iap.pem" "$pki/iap.key"
it_wait_more "$mlog" "$re_x" "$n" "mediator logs an X2/X3 PDU with a bad header length"
it_expect_running med

re_big='(too (big|large|long)|exceed|oversize|maximum|limit).*(drop|clos|disconnect)'
n=$(it_count_lines "$mlog" "$re_big")
# a well-formed X3 header (version 0.5, headerLength 40) announcing a 16 MiB payload
{
	printf '\x00\x05\x00\x02\x00\x00\x00\x28\x01\x00\x00\x00\x00\x05\x00\x02'
	head -c 24 /dev/zero
	head -c 4096 /dev/zero
} | it_sclient m-oversized "$xp" "$pki/iap.pem" "$pki/iap.key"
it_wait_more "$mlog" "$re_big" "$n" "mediator logs an oversized X2/X3 PDU and drops the connection"
it_expect_running med

# ---------- IAP inputs ----------
# The first 150 packets of the 300 are identical (same seed): cut the 300-packet file a few
# bytes into packet 151; everything of the first 150 must still arrive.
"$IT_MKPCAP" --link ether --count 150 --seed 5 "${targets[@]}" -o "$WORK/first.pcap" \
	--expect "$WORK/first-expect.pcap" >"$WORK/mkpcap-first.out"
"$IT_MKPCAP" --link ether --count 300 --seed 5 "${targets[@]}" -o "$WORK/full.pcap" \
	>"$WORK/mkpcap-full.out"
head -c $(($(stat -c %s "$WORK/first.pcap") + 30)) "$WORK/full.pcap" >"$WORK/truncated.pcap"
matched=$(it_kv "$WORK/mkpcap-first.out" matched)
it_run_iap iap-trunc "$pki" "$WORK/truncated.pcap" "$xp" "$tp"
[[ $IT_RC != 0 ]] || it_fail "lawtap-iap exited 0 on a truncated capture"
it_grep_log "$WORK/iap-trunc.log" 'truncated\.pcap' "the IAP names the truncated file"
it_grep_log "$WORK/iap-trunc.log" 'truncat|short|end of file|eof' "the IAP says the file is cut"
# Statistics, when it prints them on this exit, must count what was sent before the cut.
if grep -qs "x3_sent=" "$WORK/iap-trunc.out"; then
	x3=$(it_kv "$WORK/iap-trunc.out" x3_sent)
	[[ $x3 == "$matched" ]] || it_fail "IAP sent $x3 X3 PDUs from the truncated file, expected $matched"
fi

notpcap=$WORK/not-a-capture.pcap
printf 'this is not a capture file, just text\n%.0s' {1..20} >"$notpcap"
it_run_iap iap-text "$pki" "$notpcap" "$xp" "$tp"
[[ $IT_RC != 0 ]] || it_fail "lawtap-iap exited 0 on a text file"
it_grep_log "$WORK/iap-text.log" 'not-a-capture\.pcap' "the IAP names the non-pcap file"

"$IT_MKPCAP" --linktype 147 --count 20 --seed 6 "${targets[@]}" -o "$WORK/dlt147.pcap" >/dev/null
it_run_iap iap-dlt "$pki" "$WORK/dlt147.pcap" "$xp" "$tp"
[[ $IT_RC != 0 ]] || it_fail "lawtap-iap exited 0 on link type 147"
it_grep_log "$WORK/iap-dlt.log" 'dlt147\.pcap' "the IAP names the file with link type 147"
it_grep_log "$WORK/iap-dlt.log" 'link.?type|datalink|dlt|147' "the IAP names the link type problem"
it_expect_running med
it_expect_running col

# ---------- a good run after all that ----------
it_stop med 60
[[ $IT_RC == 0 ]] || it_fail "lawtap-mediator exited $IT_RC after SIGTERM"
it_stop col 30
[[ $IT_RC == 0 ]] || it_fail "lawtap-collector exited $IT_RC after SIGTERM"
"$IT_PCAPCMP" "$WORK/first-expect.pcap" "$out/cc.pcap" >"$WORK/pcapcmp.out" 2>&1 || {
	cat "$WORK/pcapcmp.out" >&2
	it_fail "cc.pcap does not hold exactly the packets before the cut"
}
# The garbage was not a record: the .ber files hold only the real ones.
it_etsi_check --quiet --canonical --contiguous "$out/hi2.ber" "$out/hi3.ber"
for k in gaps duplicates; do
	v=$(it_summary_total "$out" "$k")
	[[ $v == 0 ]] || it_fail "collector summary: $k=$v"
done
dec=$(it_summary_total "$out" decode_errors)
((dec >= 2)) || it_fail "collector summary counts decode_errors=$dec for two garbage connections"
it_pass "7 bad configs, garbage on HI2/HI3 and X2/X3, oversized PDU, 3 bad captures"
