#!/usr/bin/env bash
# labels: integration;tls
# Role binding on every link. The collector (LEA side) refuses a client with no certificate,
# with a certificate from another CA, and with a certificate of the IAP role; the mediator
# refuses, on its X2/X3 and tasking ports, a client with a LEA-role certificate, with an IAP
# certificate from another CA, and with none. Each refusal is logged with its reason, each
# server keeps running, and afterwards the real pipeline still works through both. As a TLS
# client the mediator refuses an "LEA" whose certificate has the mediator role.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
it_init tls_refusals
it_need openssl

pki=$WORK/pki
it_pki "$pki"
it_pki "$WORK/foreign" --other-ca
it_pki "$pki" --extra iap9 iap # an IAP-role certificate of the right CA
IT_CA=$pki/ca.pem

it_port hi2
it_port hi3
it_port xp
it_port tp
out=$WORK/out
it_mediator_conf "$WORK/mediator.yaml" --pki "$pki" --x2x3 "$xp" --tasking "$tp" \
	--hi2 "$hi2" --hi3 "$hi3" --mode full --target 10.0.0.1 --target 2001:db8:1::1

# --- the collector, alone (no mediator yet) ---
it_start_collector col "$pki" "$hi2" "$hi3" "$out"
clog=$WORK/col.log
re_nocert='no (peer )?certificate|did not return a certificate|certificate required'
re_ca='verify|unknown ca|issuer|self.signed'
re_role='role'

n=$(it_count_lines "$clog" "$re_nocert")
it_sclient c-nocert "$hi2"
it_wait_more "$clog" "$re_nocert" "$n" "collector logs the refusal of a client without certificate"

n=$(it_count_lines "$clog" "$re_ca")
it_sclient c-foreign "$hi3" "$WORK/foreign/mediator.pem" "$WORK/foreign/mediator.key"
it_wait_more "$clog" "$re_ca" "$n" "collector logs the refusal of a mediator cert from another CA"

n=$(it_count_lines "$clog" "$re_role")
it_sclient c-iaprole "$hi2" "$pki/iap9.pem" "$pki/iap9.key"
it_wait_more "$clog" "$re_role.*iap|iap.*$re_role" "$n" "collector logs the refusal of an IAP-role cert"

n=$(it_count_lines "$clog" "$re_role.*admin")
it_sclient c-adminrole "$hi3" "$pki/admin.pem" "$pki/admin.key"
it_wait_more "$clog" "$re_role.*admin" "$n" "collector logs the refusal of an admin-role cert"

# a LEA certificate has no clientAuth: refused by purpose or role
re_lea="purpose|$re_role.*lea"
n=$(it_count_lines "$clog" "$re_lea")
it_sclient c-learole "$hi3" "$pki/lea.pem" "$pki/lea.key"
it_wait_more "$clog" "$re_lea" "$n" "collector logs the refusal of a LEA-role cert"
it_expect_running col

# --- the mediator: X2/X3 and tasking ports ---
it_start_mediator med "$WORK/mediator.yaml" "$xp" "$tp"
mlog=$WORK/med.log
for port in "$xp" "$tp"; do
	n=$(it_count_lines "$mlog" "$re_lea")
	it_sclient "m-learole-$port" "$port" "$pki/lea.pem" "$pki/lea.key"
	it_wait_more "$mlog" "$re_lea" "$n" "mediator logs the refusal of a LEA-role client on $port"

	n=$(it_count_lines "$mlog" "$re_role.*admin")
	it_sclient "m-adminrole-$port" "$port" "$pki/admin.pem" "$pki/admin.key"
	it_wait_more "$mlog" "$re_role.*admin" "$n" "mediator logs the refusal of an admin-role client on $port"

	n=$(it_count_lines "$mlog" "$re_ca")
	it_sclient "m-foreign-$port" "$port" "$WORK/foreign/iap.pem" "$WORK/foreign/iap.key"
	it_wait_more "$mlog" "$re_ca" "$n" "mediator logs the refusal of an IAP cert from another CA on $port"

	n=$(it_count_lines "$mlog" "$re_nocert")
	it_sclient "m-nocert-$port" "$port"
	it_wait_more "$mlog" "$re_nocert" "$n" "mediator logs the refusal of a client without certificate on $port"
done
it_expect_running med
it_expect_running col

# The real IAP with a foreign certificate gets nowhere: it must not send a thing.
"$IT_MKPCAP" --link ether --count 50 --seed 3 --target 10.0.0.1 -o "$WORK/small.pcap" \
	--expect "$WORK/small-expect.pcap" >"$WORK/mkpcap.out"
if [[ ${IT_SKIP_FOREIGN_IAP:-0} != 1 ]]; then
	IT_RC=0
	timeout -k 2 $((10 * IT_SLOW)) "$IT_IAP" -r "$WORK/small.pcap" --mediator "127.0.0.1:$xp" \
		--tasking "127.0.0.1:$tp" --ca "$pki/ca.pem" --cert "$WORK/foreign/iap.pem" \
		--key "$WORK/foreign/iap.key" >"$WORK/iap-foreign.out" 2>"$WORK/iap-foreign.log" || IT_RC=$?
	[[ $IT_RC != 0 ]] || it_fail "lawtap-iap with a foreign certificate exited 0"
	it_check_sanitizer iap-foreign
fi

# --- the mediator as TLS client: an "LEA" presenting a mediator certificate is refused ---
it_port fh2
it_port fh3
it_port fxp
it_port ftp
it_mediator_conf "$WORK/fake/mediator.yaml" --pki "$pki" --x2x3 "$fxp" --tasking "$ftp" \
	--hi2 "$fh2" --hi3 "$fh3" --mode full --target 10.0.0.1 --drain 1
mkdir -p "$WORK/fake/out"
it_start fakelea "$IT_COL" --hi2 "127.0.0.1:$fh2" --hi3 "127.0.0.1:$fh3" --ca "$pki/ca.pem" \
	--cert "$pki/mediator.pem" --key "$pki/mediator.key" --out "$WORK/fake/out"
it_wait_port fakelea "$fh2"
it_wait_port fakelea "$fh3"
it_start med2 "$IT_MED" -c "$WORK/fake/mediator.yaml"
it_wait_log "$WORK/med2.log" "$re_role.*mediator.*expected lea|expected lea.*mediator" \
	"mediator refuses an LEA whose certificate has the mediator role"
it_stop med2 60
it_stop fakelea 30
n=$(it_summary_total "$WORK/fake/out" hi2_records)
m=$(it_summary_total "$WORK/fake/out" hi3_records)
[[ $n == 0 && $m == 0 ]] || it_fail "the mediator delivered records to an LEA of the wrong role"

# --- positive control: the pipeline still works through both servers ---
matched=$(it_kv "$WORK/mkpcap.out" matched)
it_run_iap iap "$pki" "$WORK/small.pcap" "$xp" "$tp"
[[ $IT_RC == 0 ]] || it_fail "lawtap-iap with the right certificate exited $IT_RC"
it_stop med 60
[[ $IT_RC == 0 ]] || it_fail "lawtap-mediator exited $IT_RC"
it_stop col 30
[[ $IT_RC == 0 ]] || it_fail "lawtap-collector exited $IT_RC"
"$IT_PCAPCMP" "$WORK/small-expect.pcap" "$out/cc.pcap" >"$WORK/pcapcmp.out" 2>&1 || {
	cat "$WORK/pcapcmp.out" >&2
	it_fail "cc.pcap differs after the refusals"
}
# The refused clients' attempts must not show up as records or decode errors.
it_check_summary "$out"
it_pass "5 refusals at the collector, 8 at the mediator (+1 as client), logged; pipeline ok after ($matched records)"
