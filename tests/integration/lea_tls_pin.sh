#!/usr/bin/env bash
# labels: integration;tls
# An LEA whose collector is not lawtap (docs/rest-api.md, LEA "tls"). Every collector here
# presents "lemf", a server certificate from a foreign CA with serverAuth and no lawtap role URI
# (a commercial LEMF), and requires the mediator's lawtap certificate (--ca of the lawtap PKI).
# One warrant, three LEAs (and leaE without a warrant: tls.ca keeps the serverAuth EKU check):
#   leaC: tls.ca = the foreign CA           -> delivery works end to end
#   leaP: tls.pin_sha256 = lemf's SHA-256   -> delivery works end to end (pin, no chain check)
#   leaW: tls.pin_sha256 = another cert's   -> nothing delivered, the mediator logs the refusal
#         naming the LEA, the expected and the presented fingerprint; after `lea modify` with
#         the right pin the spooled records are delivered, in order.
# For every delivering collector cc.pcap equals mkpcap's expectation and etsi-check passes.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/prov.sh"
prov_init lea_tls_pin
it_need openssl
pki=$WORK/pki
foreign=$WORK/foreign
it_pki "$foreign" --other-ca

# lemf: foreign CA, serverAuth, SAN without any urn:lawtap:role URI.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$foreign/lemf.key" \
	-subj "/CN=lemf.example" -out "$foreign/lemf.csr" >"$WORK/openssl.out" 2>&1 ||
	it_fail "openssl req failed"
printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=digitalSignature" \
	"extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$foreign/lemf.ext"
openssl x509 -req -in "$foreign/lemf.csr" -CA "$foreign/ca.pem" -CAkey "$foreign/ca.key" \
	-CAcreateserial -days 30 -extfile "$foreign/lemf.ext" -out "$foreign/lemf.pem" \
	>>"$WORK/openssl.out" 2>&1 || it_fail "openssl x509 -req failed"
if grep -q 'urn:lawtap:role' <(openssl x509 -in "$foreign/lemf.pem" -noout -text); then
	it_fail "lemf.pem carries a lawtap role"
fi

fp() { # CERT -> lowercase hex SHA-256 of the DER certificate, no colons
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'
}
pin_right=$(fp "$foreign/lemf.pem")
pin_wrong=$(fp "$pki/lea.pem")
[[ $pin_right =~ ^[0-9a-f]{64}$ && $pin_wrong =~ ^[0-9a-f]{64}$ ]] || it_fail "bad fingerprints"

prov_mediator med
mlog=$WORK/med.log

# collector NAME HI2 HI3 OUT: a collector presenting lemf, trusting the lawtap CA for clients.
collector() {
	mkdir -p "$4"
	it_start "$1" "$IT_COL" --hi2 "127.0.0.1:$2" --hi3 "127.0.0.1:$3" --ca "$pki/ca.pem" \
		--cert "$foreign/lemf.pem" --key "$foreign/lemf.key" --out "$4"
	it_wait_port "$1" "$2"
	it_wait_port "$1" "$3"
}

declare -A H2 H3
for lea in leaC leaP leaW; do
	it_port "H2[$lea]"
	it_port "H3[$lea]"
	collector "col-$lea" "${H2[$lea]}" "${H3[$lea]}" "$WORK/$lea/out"
done
ctl_ok lea add --id leaC --country NL --hi2 "127.0.0.1:${H2[leaC]}" --hi3 "127.0.0.1:${H3[leaC]}" \
	--tls-ca "$foreign/ca.pem"
ctl_ok lea add --id leaP --country NL --hi2 "127.0.0.1:${H2[leaP]}" --hi3 "127.0.0.1:${H3[leaP]}" \
	--tls-pin "$pin_right"
ctl_ok lea add --id leaW --country NL --hi2 "127.0.0.1:${H2[leaW]}" --hi3 "127.0.0.1:${H3[leaW]}" \
	--tls-pin "$pin_wrong"
# tls.ca still requires the serverAuth EKU: leaE's collector presents a foreign-CA certificate
# made for clients only (foreign/iap.pem) and is refused for its purpose (no warrant uses leaE)
he2="" he3=""
it_port he2
it_port he3
mkdir -p "$WORK/leaE/out"
it_start col-leaE "$IT_COL" --hi2 "127.0.0.1:$he2" --hi3 "127.0.0.1:$he3" --ca "$pki/ca.pem" \
	--cert "$foreign/iap.pem" --key "$foreign/iap.key" --out "$WORK/leaE/out"
it_wait_port col-leaE "$he2"
it_wait_port col-leaE "$he3"
ctl_ok lea add --id leaE --country NL --hi2 "127.0.0.1:$he2" --hi3 "127.0.0.1:$he3" \
	--tls-ca "$foreign/ca.pem"
it_wait_log "$mlog" "lea leaE hi[23]:.*purpose" "mediator refuses leaE's client-only certificate" 30

ctl_ok warrant add --liid PIN-1 --country NL --lea leaC --lea leaP --lea leaW \
	--target 10.0.0.1 --mode full

"$IT_MKPCAP" --link ether --count 300 --seed 41 --target 10.0.0.1 -o "$WORK/in.pcap" \
	--expect "$WORK/expect.pcap" >"$WORK/mkpcap.out" || it_fail "mkpcap failed"
n=$(it_kv "$WORK/mkpcap.out" expected)
((n > 0)) || it_fail "mkpcap expects nothing"
it_run_iap iap "$pki" "$WORK/in.pcap" "$PROV_XP" "$PROV_TP"
[[ $IT_RC == 0 ]] || it_fail "lawtap-iap exited $IT_RC"

# (3) the wrong pin: refused, logged with the LEA, expected and presented fingerprints
it_wait_log "$mlog" "lea leaW hi[23]:.*expected sha256 $pin_wrong, presented $pin_right" \
	"mediator logs the pin refusal of leaW" 30
# every record the IAP sent is spooled for leaW; poll until leaC has all of them too (then the
# mediator had every record), and leaW's collector must not have received a single one
# shellcheck disable=SC2317 # called through it_wait_for
got_all() { [[ -s $1/cc.pcap ]] && "$IT_PCAPCMP" "$WORK/expect.pcap" "$1/cc.pcap" >/dev/null 2>&1; }
it_wait_for "leaC to receive every CC record" 30 got_all "$WORK/leaC/out"
it_stop col-leaW 30
[[ $IT_RC == 0 ]] || it_fail "collector of leaW exited $IT_RC"
for k in hi2_records hi3_records; do
	v=$(it_summary_total "$WORK/leaW/out" "$k")
	[[ $v == 0 ]] || it_fail "leaW (wrong pin) received $k=$v"
done
it_log "leaW: refused by pin, nothing delivered: $(grep -m1 -E 'lea leaW hi[23]:.*pin' "$mlog")"

# the right pin: leaW's spooled records go out to a fresh collector on the same ports
collector col-leaW2 "${H2[leaW]}" "${H3[leaW]}" "$WORK/leaW2/out"
ctl_ok lea modify leaW --tls-pin "$pin_right"
it_wait_for "leaW to receive every CC record after the pin was corrected" 30 \
	got_all "$WORK/leaW2/out"

it_stop col-leaE 30
it_stop med 60
[[ $IT_RC == 0 ]] || it_fail "mediator exited $IT_RC after SIGTERM"
for c in leaC:col-leaC leaP:col-leaP leaW2:col-leaW2; do
	d=${c%%:*} name=${c#*:}
	it_stop "$name" 30
	[[ $IT_RC == 0 ]] || it_fail "$name exited $IT_RC"
	out=$WORK/$d/out
	"$IT_PCAPCMP" "$WORK/expect.pcap" "$out/cc.pcap" >"$WORK/$d/pcapcmp.out" 2>&1 || {
		cat "$WORK/$d/pcapcmp.out" >&2
		it_fail "$d: cc.pcap differs from mkpcap's expectation"
	}
	it_check_summary "$out"
	it_etsi_check --quiet --canonical --contiguous "$out/hi2.ber" "$out/hi3.ber"
	it_log "$d: $(tail -n 1 "$WORK/$d/pcapcmp.out"), etsi-check ok"
done
it_pass "tls.ca (foreign CA, no role URI) and pin delivered $n records each; a wrong pin was refused and logged, then delivered once corrected"
