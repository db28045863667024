#!/usr/bin/env bash
# labels: integration;tls;provisioning
# An LEA whose collector is not lawtap (docs/rest-api.md, LEA "tls"). Every collector here
# presents "lemf", a server certificate from a foreign CA with serverAuth and no lawtap role URI
# (a commercial LEMF), and requires the mediator's lawtap certificate (--ca of the lawtap PKI).
# One warrant, three LEAs (and leaE without a warrant: tls.ca keeps the serverAuth EKU check):
#   leaC: tls.ca = the foreign CA           -> delivery works end to end
#   leaP: tls.pin_sha256 = lemf's SHA-256   -> delivery works end to end (pin, no chain check)
#   leaW: tls.pin_sha256 = another cert's   -> nothing delivered, the mediator logs the refusal
#         naming the LEA, the expected and the presented fingerprint; after `lea modify` with
#         the right pin the spooled records are delivered, in order.
# Both tls.ca and a pin: both apply (the chain must verify against the LEA's CA AND the leaf must
# match the pin; docs/rest-api.md):
#   leaA: tls.ca = the foreign CA, pin = lemf's   -> delivered
#   leaB: tls.ca = the foreign CA, pin = lemf2's (another server certificate of the same CA):
#         lemf chains to the CA but is not the pinned one -> refused, logged naming the LEA
#   leaX: tls.ca = the lawtap CA, pin = lemf's: lemf matches the pin but does not chain to the
#         LEA's CA -> refused, logged naming the LEA (the pin does not replace the CA)
#   leaB and leaX then corrected (`lea modify`: the pin, resp. the CA) -> delivered in full.
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

# lemf2: another server certificate of the foreign CA (leaB pins it)
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$foreign/lemf2.key" \
	-subj "/CN=lemf2.example" -out "$foreign/lemf2.csr" >>"$WORK/openssl.out" 2>&1 ||
	it_fail "openssl req (lemf2) failed"
openssl x509 -req -in "$foreign/lemf2.csr" -CA "$foreign/ca.pem" -CAkey "$foreign/ca.key" \
	-CAcreateserial -days 30 -extfile "$foreign/lemf.ext" -out "$foreign/lemf2.pem" \
	>>"$WORK/openssl.out" 2>&1 || it_fail "openssl x509 -req (lemf2) failed"

fp() { # CERT -> lowercase hex SHA-256 of the DER certificate, no colons
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'
}
pin_right=$(fp "$foreign/lemf.pem")
pin_wrong=$(fp "$pki/lea.pem")
pin_lemf2=$(fp "$foreign/lemf2.pem")
[[ $pin_right =~ ^[0-9a-f]{64}$ && $pin_wrong =~ ^[0-9a-f]{64}$ && $pin_lemf2 =~ ^[0-9a-f]{64}$ ]] ||
	it_fail "bad fingerprints"

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
for lea in leaC leaP leaW leaA leaB leaX; do
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
ctl_ok lea add --id leaA --country NL --hi2 "127.0.0.1:${H2[leaA]}" --hi3 "127.0.0.1:${H3[leaA]}" \
	--tls-ca "$foreign/ca.pem" --tls-pin "$pin_right"
ctl_ok lea add --id leaB --country NL --hi2 "127.0.0.1:${H2[leaB]}" --hi3 "127.0.0.1:${H3[leaB]}" \
	--tls-ca "$foreign/ca.pem" --tls-pin "$pin_lemf2"
ctl_ok lea add --id leaX --country NL --hi2 "127.0.0.1:${H2[leaX]}" --hi3 "127.0.0.1:${H3[leaX]}" \
	--tls-ca "$pki/ca.pem" --tls-pin "$pin_right"
j=$(ctl_json lea show leaA)
[[ $(jq -r .tls.ca <<<"$j") == "$foreign/ca.pem" && $(jq -r .tls.pin_sha256 <<<"$j") == "$pin_right" ]] ||
	it_fail "leaA does not keep both tls.ca and the pin: $j"
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

ctl_ok warrant add --liid PIN-1 --country NL --lea leaC --lea leaP --lea leaW --lea leaA \
	--lea leaB --lea leaX --target 10.0.0.1 --mode full

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

# both tls.ca and a pin: leaB (chain verifies, another pin) and leaX (pin matches, another CA)
# are refused, each logged naming the LEA, and receive nothing
it_wait_log "$mlog" "lea leaB hi[23]:.*expected sha256 $pin_lemf2, presented $pin_right" \
	"mediator logs the pin refusal of leaB (right CA, another pin)" 30
it_wait_log "$mlog" "lea leaX hi[23]:.*certificate verify failed" \
	"mediator logs the chain refusal of leaX (right pin, another CA)" 30
for lea in leaB leaX; do
	it_stop "col-$lea" 30
	[[ $IT_RC == 0 ]] || it_fail "collector of $lea exited $IT_RC"
	for k in hi2_records hi3_records; do
		v=$(it_summary_total "$WORK/$lea/out" "$k")
		[[ $v == 0 ]] || it_fail "$lea (CA and pin, one of them not met) received $k=$v"
	done
	it_log "$lea: refused, nothing delivered: $(grep -m1 -E "lea $lea hi[23]:.*(pin|verify)" "$mlog" | sed 's/^.*Z //')"
done

# the right pin: leaW's spooled records go out to a fresh collector on the same ports
collector col-leaW2 "${H2[leaW]}" "${H3[leaW]}" "$WORK/leaW2/out"
ctl_ok lea modify leaW --tls-pin "$pin_right"
it_wait_for "leaW to receive every CC record after the pin was corrected" 30 \
	got_all "$WORK/leaW2/out"
# leaB and leaX corrected (the pin, resp. the CA): their spooled records go out too
collector col-leaB2 "${H2[leaB]}" "${H3[leaB]}" "$WORK/leaB2/out"
collector col-leaX2 "${H2[leaX]}" "${H3[leaX]}" "$WORK/leaX2/out"
ctl_ok lea modify leaB --tls-pin "$pin_right"
ctl_ok lea modify leaX --tls-ca "$foreign/ca.pem"
it_wait_for "leaB to receive every CC record after the pin was corrected" 30 got_all "$WORK/leaB2/out"
it_wait_for "leaX to receive every CC record after the CA was corrected" 30 got_all "$WORK/leaX2/out"

it_stop col-leaE 30
it_stop med 60
[[ $IT_RC == 0 ]] || it_fail "mediator exited $IT_RC after SIGTERM"
for c in leaC:col-leaC leaP:col-leaP leaW2:col-leaW2 leaA:col-leaA leaB2:col-leaB2 leaX2:col-leaX2; do
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
it_pass "tls.ca (foreign CA, no role URI), pin, and tls.ca with pin delivered $n records each; a wrong pin was refused and logged, then delivered once corrected; tls.ca with pin refused a certificate of the CA with another pin and the pinned certificate from another CA"
