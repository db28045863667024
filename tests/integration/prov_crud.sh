#!/usr/bin/env bash
# labels: integration;provisioning
# LEAs and warrants through lawtap-ctl against a mediator with an empty store: add, list, show,
# modify, end, remove, with tables and --json; every invalid request (bad LIID length, bad
# country, empty, unparsable, duplicate or overlapping target, end not after start, unknown LEA,
# unknown mode, a filter libpcap cannot compile, duplicates, LEA still in use, ended warrant)
# refused with the server's message and exit 1, the store unchanged (lists compared before and
# after); requests with a non-admin certificate (iap, lea, mediator roles, an admin of another CA)
# refused, the store unchanged, and each refusal logged by the mediator with the peer's address and
# the reason (as is a client without a certificate); an unreachable URL is exit 2 naming the URL.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/prov.sh"
prov_init prov_crud

prov_mediator med
# collectors for the two LEAs, so the events of the warrants are delivered and confirmed
hi2_1="" hi3_1="" hi2_2="" hi3_2=""
it_port hi2_1
it_port hi3_1
it_port hi2_2
it_port hi3_2
it_start_collector col1 "$WORK/pki" "$hi2_1" "$hi3_1" "$WORK/col1"
it_start_collector col2 "$WORK/pki" "$hi2_2" "$hi3_2" "$WORK/col2"

# ---- an empty store ----
ctl_ok lea list
grep -qx '(none)' "$WORK/ctl.out" || it_fail "lea list of an empty store: $(cat "$WORK/ctl.out")"
[[ $(ctl_json warrant list | jq '.warrants | length') == 0 ]] || it_fail "store not empty at start"

# ---- LEAs ----
ctl_ok lea add --id lea1 --country NL --hi2 "127.0.0.1:$hi2_1" --hi3 "127.0.0.1:$hi3_1"
ctl_ok lea add --id lea2 --country BE --hi2 "127.0.0.1:$hi2_2" --hi3 "127.0.0.1:$hi3_2" \
	--timestamp both --keepalive-idle 60 --keepalive-timeout 10 --keepalive-liid KA-2 \
	--operator-id op-two
j=$(ctl_json lea show lea2)
for kv in 'id=lea2' 'country=BE' "hi2=127.0.0.1:$hi2_2" "hi3=127.0.0.1:$hi3_2" 'timestamp=both' \
	'keepalive_idle=60' 'keepalive_timeout=10' 'keepalive_liid=KA-2' 'operator_id=op-two'; do
	got=$(jq -r --arg k "${kv%%=*}" '.[$k] | tostring' <<<"$j")
	[[ $got == "${kv#*=}" ]] || it_fail "lea show lea2: ${kv%%=*}=$got, expected ${kv#*=}"
done
ctl_ok lea modify lea2 --timestamp generalized --keepalive-idle 120
j=$(ctl_json lea show lea2)
[[ $(jq -r .timestamp <<<"$j") == generalized && $(jq -r .keepalive_idle <<<"$j") == 120 ]] ||
	it_fail "lea modify not applied: $j"
[[ $(jq -r .country <<<"$j") == BE ]] || it_fail "lea modify changed what it was not asked to"
# ack_mode / resend_window: defaults, set on add, changed by modify, shown
j=$(ctl_json lea show lea1)
[[ $(jq -r .ack_mode <<<"$j") == keepalive && $(jq -r .resend_window <<<"$j") == 1000 ]] ||
	it_fail "lea1 ack defaults (keepalive, 1000): $j"
ctl_ok lea modify lea2 --ack-mode window --resend-window 5000
j=$(ctl_json lea show lea2)
[[ $(jq -r .ack_mode <<<"$j") == window && $(jq -r .resend_window <<<"$j") == 5000 ]] ||
	it_fail "lea modify --ack-mode window --resend-window 5000 not applied: $j"
[[ $(jq -r .timestamp <<<"$j") == generalized ]] || it_fail "ack modify changed timestamp: $j"
ctl_ok lea show lea2
grep -qE '^ack_mode: +window$' "$WORK/ctl.out" ||
	it_fail "lea show lea2 does not show the ack mode: $(cat "$WORK/ctl.out")"
grep -qE '^resend_window: +5000$' "$WORK/ctl.out" ||
	it_fail "lea show lea2 does not show resend_window: $(cat "$WORK/ctl.out")"
ctl_ok lea list
grep -qE '^lea2 .* window/5000 ' "$WORK/ctl.out" || it_fail "lea list ACK column: $(cat "$WORK/ctl.out")"
grep -qE '^lea1 .* keepalive ' "$WORK/ctl.out" || it_fail "lea list ACK column: $(cat "$WORK/ctl.out")"
ctl_ok lea list
grep -qE "^lea2 +BE +127\\.0\\.0\\.1:$hi2_2" "$WORK/ctl.out" || it_fail "lea list table: $(cat "$WORK/ctl.out")"
[[ $(ctl_json lea list | jq '.leas | length') == 2 ]] || it_fail "lea list: not 2 LEAs"

# ---- warrants ----
ctl_ok warrant add --liid CRUD-1 --country NL --lea lea1 --target 10.0.0.1 \
	--target 2001:db8::/64 --mode full --target-name alice --end +1d --filter 'port 6667'
j=$(ctl_json warrant show NL/CRUD-1)
[[ $(jq -r .state <<<"$j") == active ]] || it_fail "new warrant not active: $j"
[[ $(jq -c .targets <<<"$j") == '["10.0.0.1","2001:db8::/64"]' ]] || it_fail "targets: $j"
[[ $(jq -c .leas <<<"$j") == '["lea1"]' ]] || it_fail "leas: $j"
[[ $(jq -r .filter <<<"$j") == 'port 6667' && $(jq -r .mode <<<"$j") == full ]] || it_fail "$j"
[[ $(jq -r .target_name <<<"$j") == alice ]] || it_fail "target_name: $j"
[[ $(jq -r .delivery_country <<<"$j") == NL ]] || it_fail "delivery_country default: $j"
[[ $(jq -r '.xid // ""' <<<"$j") =~ ^[0-9a-f-]{36}$ ]] || it_fail "xid: $j"
[[ $(jq -r '.cin // 0' <<<"$j") -gt 0 ]] || it_fail "cin: $j"
jq -r .created_by <<<"$j" | grep -q 'CN=admin' || it_fail "created_by: $j"
[[ -n $(jq -r '.created_at // ""' <<<"$j") ]] || it_fail "created_at: $j"

ctl_ok warrant add --liid 'CRUD/2x' --country NL --lea lea1 --lea lea2 --target 10.0.0.2 \
	--mode iri-only --start +1h --delivery-country BE
j=$(ctl_json warrant show 'NL/CRUD/2x')
[[ $(jq -r .state <<<"$j") == pending ]] || it_fail "warrant starting in an hour not pending: $j"
[[ $(jq -c .leas <<<"$j") == '["lea1","lea2"]' ]] || it_fail "two LEAs: $j"
[[ $(ctl_json warrant list | jq '.warrants | length') == 2 ]] || it_fail "warrant list: not 2"
[[ $(ctl_json warrant list --state pending | jq -r '[.warrants[].liid] | join(",")') == 'CRUD/2x' ]] ||
	it_fail "warrant list --state pending: $(cat "$WORK/ctl.out")"
ctl_ok warrant list
grep -qE '^NL/CRUD-1 +active +full +lea1 +10\.0\.0\.1,2001:db8::/64' "$WORK/ctl.out" ||
	it_fail "warrant list table: $(cat "$WORK/ctl.out")"
grep -qE '^NL/CRUD/2x +pending +iri-only +lea1,lea2' "$WORK/ctl.out" ||
	it_fail "warrant list table: $(cat "$WORK/ctl.out")"

# ---- invalid requests: refused, nothing changes ----
prov_store_snapshot "$WORK/before.json"
long=LIID-$(printf 'x%.0s' {1..27}) # 32 octets
ctl_refused 400 'liid' warrant add --liid "$long" --country NL --lea lea1 --target 10.0.0.9 --mode full
ctl_refused 400 'liid' warrant add --liid '' --country NL --lea lea1 --target 10.0.0.9 --mode full
ctl_refused 400 'country' warrant add --liid BAD-1 --country nl --lea lea1 --target 10.0.0.9 --mode full
ctl_refused 400 'country' warrant add --liid BAD-1 --country NLD --lea lea1 --target 10.0.0.9 --mode full
ctl_refused 400 'country' warrant add --liid BAD-1 --country NL --delivery-country 12 --lea lea1 \
	--target 10.0.0.9 --mode full
ctl_refused 400 'target' warrant add --liid BAD-1 --country NL --lea lea1 --mode full
ctl_refused 400 'target' warrant add --liid BAD-1 --country NL --lea lea1 --target 10.0.0.300 --mode full
ctl_refused 400 'target' warrant add --liid BAD-1 --country NL --lea lea1 --target 10.0.0.0/24 \
	--target 10.0.0.7 --mode full
ctl_refused 400 'target' warrant add --liid BAD-1 --country NL --lea lea1 --target 2001:db8::1 \
	--target 2001:db8::1 --mode full
ctl_refused 400 'end|start' warrant add --liid BAD-1 --country NL --lea lea1 --target 10.0.0.9 \
	--mode full --start 2027-01-02T00:00:00Z --end 2027-01-01T00:00:00Z
ctl_refused 400 'end|start' warrant add --liid BAD-1 --country NL --lea lea1 --target 10.0.0.9 \
	--mode full --start 2027-01-01T00:00:00Z --end 2027-01-01T00:00:00Z
ctl_refused 400 'start|time' warrant add --liid BAD-1 --country NL --lea lea1 --target 10.0.0.9 \
	--mode full --start 'tomorrow'
ctl_refused '4[0-9][0-9]' 'lea' warrant add --liid BAD-1 --country NL --lea nosuchlea \
	--target 10.0.0.9 --mode full
ctl_refused 400 'lea' warrant add --liid BAD-1 --country NL --target 10.0.0.9 --mode full
ctl_refused 400 'mode' warrant add --liid BAD-1 --country NL --lea lea1 --target 10.0.0.9 --mode both
ctl_refused 400 'filter' warrant add --liid BAD-1 --country NL --lea lea1 --target 10.0.0.9 \
	--mode full --filter 'port banana'
ctl_refused 409 '' warrant add --liid CRUD-1 --country NL --lea lea1 --target 10.0.0.9 --mode full
ctl_refused 404 '' warrant show NL/NOPE
ctl_refused 404 '' warrant modify NL/NOPE --end +1h
ctl_refused 404 '' warrant end NL/NOPE
ctl_refused 400 'target' warrant modify NL/CRUD-1 --remove-target 10.0.0.1 --remove-target 2001:db8::/64
ctl_refused 400 'target' warrant modify NL/CRUD-1 --add-target 2001:db8::5
ctl_refused 400 'end|start' warrant modify 'NL/CRUD/2x' --end +30m
ctl_refused '4[0-9][0-9]' 'lea' warrant modify NL/CRUD-1 --lea nosuchlea
ctl_refused 409 '' lea add --id lea1 --country NL --hi2 127.0.0.1:1 --hi3 127.0.0.1:2
ctl_refused 400 'country' lea add --id lea3 --country Nl --hi2 127.0.0.1:1 --hi3 127.0.0.1:2
ctl_refused 400 'hi2' lea add --id lea3 --country NL --hi2 nohostport --hi3 127.0.0.1:2
ctl_refused 400 'timestamp' lea add --id lea3 --country NL --hi2 127.0.0.1:1 --hi3 127.0.0.1:2 \
	--timestamp seconds
ctl_refused 400 'id' lea add --id 'bad id!' --country NL --hi2 127.0.0.1:1 --hi3 127.0.0.1:2
ctl_refused 400 'ack_mode' lea add --id lea3 --country NL --hi2 127.0.0.1:1 --hi3 127.0.0.1:2 \
	--ack-mode sometimes
ctl_refused 400 'pdu_ack_strict' lea add --id lea3 --country NL --hi2 127.0.0.1:1 \
	--hi3 127.0.0.1:2 --ack-mode pdu-ack --pdu-ack-strict 2
ctl_refused 400 'pdu_ack_strict' lea modify lea2 --ack-mode pdu-ack --pdu-ack-strict -1
ctl_refused 400 'ack_mode' lea modify lea1 --ack-mode Window
ctl_refused 400 'resend_window' lea modify lea2 --resend-window 0
ctl_refused 400 'resend_window' lea add --id lea3 --country NL --hi2 127.0.0.1:1 \
	--hi3 127.0.0.1:2 --resend-window 100001
ctl_refused 409 '' lea remove lea1
ctl_refused 404 '' lea show nosuchlea
ctl_refused 404 '' lea remove nosuchlea
prov_store_snapshot "$WORK/after.json"
if ! diff -u "$WORK/before.json" "$WORK/after.json" >"$WORK/store.diff"; then
	head -n 30 "$WORK/store.diff" >&2
	it_fail "a refused request changed the store"
fi

# ---- certificates other than admin: refused, store unchanged ----
"$IT_MKPKI" "$WORK/other" --other-ca >"$WORK/mkpki-other.out" 2>&1 || it_fail "mkpki --other-ca"
refused_re='rest: refused connection from 127\.0\.0\.1:[0-9]+: '
nrefused=0
# logged_since N REASON: a refusal line was logged after the first N, the newest naming REASON
logged_since() {
	(($(it_count_lines "$WORK/med.log" "$refused_re") > $1)) &&
		grep -iE -- "$refused_re" "$WORK/med.log" | tail -n 1 | grep -qiE -- "$2"
}
for who in iap lea mediator other-admin; do
	case $who in
	other-admin) cert=$WORK/other/admin.pem key=$WORK/other/admin.key ;;
	*) cert=$WORK/pki/$who.pem key=$WORK/pki/$who.key ;;
	esac
	case $who in # the reason the mediator logs (lea.pem is made for servers only)
	other-admin) reason='TLS handshake failed: certificate verify failed: unable to get local issuer' ;;
	lea) reason='TLS handshake failed: certificate verify failed: unsuitable certificate purpose' ;;
	*) reason="is not an admin one: peer role is $who, expected admin" ;;
	esac
	for cmd in "lea list" "lea add --id evil --country NL --hi2 127.0.0.1:1 --hi3 127.0.0.1:2"; do
		nlog=$(it_count_lines "$WORK/med.log" "$refused_re")
		rc=0
		# shellcheck disable=SC2086 # cmd is a word list
		"$IT_CTL" --config "$WORK/ctl.conf" --cert "$cert" --key "$key" $cmd \
			>"$WORK/nonadmin.out" 2>"$WORK/nonadmin.err" || rc=$?
		((rc == 1 || rc == 2)) ||
			it_fail "$who certificate: lawtap-ctl $cmd exited $rc: $(cat "$WORK/nonadmin.out")"
		[[ -s $WORK/nonadmin.err ]] || it_fail "$who certificate: refusal without a message"
		it_log "$who certificate refused (exit $rc): $(head -n 1 "$WORK/nonadmin.err")"
		# the mediator logs the refusal with the peer's address and the reason
		it_wait_for "a log line of the refused $who certificate (/$reason/)" 15 logged_since "$nlog" "$reason"
		it_log "  mediator: $(grep -E "$refused_re" "$WORK/med.log" | tail -n 1 | sed 's/^.*warn: //')"
		nrefused=$((nrefused + 1))
	done
done
# no client certificate at all: refused at the handshake, logged likewise
nlog=$(it_count_lines "$WORK/med.log" "$refused_re")
it_sclient nocert "$PROV_REST" </dev/null
reason='TLS handshake failed: peer presented no certificate'
it_wait_for "a log line of the client without a certificate (/$reason/)" 15 logged_since "$nlog" "$reason"
it_log "no certificate: $(grep -E "$refused_re" "$WORK/med.log" | tail -n 1 | sed 's/^.*warn: //')"
nrefused=$((nrefused + 1))
prov_store_snapshot "$WORK/after2.json"
diff -q "$WORK/before.json" "$WORK/after2.json" >/dev/null ||
	it_fail "a request with a non-admin certificate changed the store"

# ---- modify ----
ctl_ok warrant modify NL/CRUD-1 --add-target 10.0.1.0/24
[[ $(ctl_json warrant show NL/CRUD-1 | jq -c .targets) == '["10.0.0.1","2001:db8::/64","10.0.1.0/24"]' ]] ||
	it_fail "--add-target: $(cat "$WORK/ctl.out")"
ctl_ok warrant modify NL/CRUD-1 --remove-target 10.0.0.1
[[ $(ctl_json warrant show NL/CRUD-1 | jq -c .targets) == '["2001:db8::/64","10.0.1.0/24"]' ]] ||
	it_fail "--remove-target: $(cat "$WORK/ctl.out")"
ctl_ok warrant modify NL/CRUD-1 --target 10.0.0.3 --target 10.0.0.4
[[ $(ctl_json warrant show NL/CRUD-1 | jq -c .targets) == '["10.0.0.3","10.0.0.4"]' ]] ||
	it_fail "--target (replace): $(cat "$WORK/ctl.out")"
ctl_ok warrant modify NL/CRUD-1 --suspend
[[ $(ctl_json warrant show NL/CRUD-1 | jq -r .state) == suspended ]] || it_fail "--suspend"
ctl_ok warrant modify NL/CRUD-1 --resume --no-filter
j=$(ctl_json warrant show NL/CRUD-1)
[[ $(jq -r .state <<<"$j") == active && $(jq -r .filter <<<"$j") == null ]] ||
	it_fail "--resume --no-filter: $j"
ctl_ok warrant modify NL/CRUD-1 --lea lea1 --lea lea2
[[ $(ctl_json warrant show NL/CRUD-1 | jq -c .leas) == '["lea1","lea2"]' ]] || it_fail "--lea"

# ---- end, remove ----
ctl_ok warrant end NL/CRUD-1
grep -qE '^state: +ended' "$WORK/ctl.out" || it_fail "warrant end: $(cat "$WORK/ctl.out")"
[[ $(ctl_json warrant show NL/CRUD-1 | jq -r .state) == ended ]] || it_fail "not ended"
ctl_refused 409 '' warrant end NL/CRUD-1
ctl_refused 409 '' warrant modify NL/CRUD-1 --add-target 10.0.0.5
ctl_refused 409 '' lea remove lea1 # still used by the pending NL/CRUD/2x
ctl_ok warrant end 'NL/CRUD/2x'
ctl_ok lea remove lea1
grep -q 'lea lea1 removed' "$WORK/ctl.out" || it_fail "lea remove: $(cat "$WORK/ctl.out")"
ctl_refused 404 '' lea show lea1
[[ $(ctl_json lea list | jq -r '[.leas[].id] | join(",")') == lea2 ]] || it_fail "lea list after remove"
# ended warrants stay in the store (the record of what was intercepted)
[[ $(ctl_json warrant list | jq '[.warrants[] | select(.state == "ended")] | length') == 2 ]] ||
	it_fail "ended warrants not kept"

# ---- every act is in the audit trail, which verifies ----
ctl_ok audit verify
grep -q 'audit trail ok' "$WORK/ctl.out" || it_fail "audit verify: $(cat "$WORK/ctl.out")"
n=$(ctl_json audit list | jq '[.entries[] | select(.result == "ok")] | length')
((n == 15)) || it_fail "audit list: $n successful acts recorded, expected 15"

# ---- where lawtap-ctl finds its endpoint: $LAWTAP_CTL_CONFIG, or flags alone ----
LAWTAP_CTL_CONFIG=$WORK/ctl.conf "$IT_CTL" lea list >"$WORK/env.out" 2>&1 ||
	it_fail "lawtap-ctl with LAWTAP_CTL_CONFIG: $(cat "$WORK/env.out")"
grep -q '^lea2 ' "$WORK/env.out" || it_fail "LAWTAP_CTL_CONFIG: $(cat "$WORK/env.out")"
LAWTAP_CTL_CONFIG=/nonexistent "$IT_CTL" --config /dev/null --url "https://127.0.0.1:$PROV_REST" \
	--ca "$WORK/pki/ca.pem" --cert "$WORK/pki/admin.pem" --key "$WORK/pki/admin.key" \
	lea list >"$WORK/flags.out" 2>&1 || it_fail "lawtap-ctl with flags only: $(cat "$WORK/flags.out")"
grep -q '^lea2 ' "$WORK/flags.out" || it_fail "flags only: $(cat "$WORK/flags.out")"
rc=0
LAWTAP_CTL_CONFIG=/nonexistent/ctl.conf "$IT_CTL" lea list >/dev/null 2>"$WORK/noconf.err" || rc=$?
if [[ $rc != 2 ]] || ! grep -q /nonexistent/ctl.conf "$WORK/noconf.err"; then
	it_fail "a missing config file: exit $rc, $(cat "$WORK/noconf.err")"
fi

# ---- transport errors: exit 2 naming the URL ----
dead=""
it_port dead
rc=0
"$IT_CTL" --config "$WORK/ctl.conf" --url "https://127.0.0.1:$dead" lea list \
	>/dev/null 2>"$WORK/dead.err" || rc=$?
[[ $rc == 2 ]] || it_fail "unreachable mediator: exit $rc, expected 2"
grep -q "https://127.0.0.1:$dead" "$WORK/dead.err" || it_fail "message lacks the URL: $(cat "$WORK/dead.err")"

it_stop med 60
[[ $IT_RC == 0 ]] || it_fail "mediator exited $IT_RC after SIGTERM"
it_stop col1
it_stop col2
it_pass "LEA and warrant CRUD, $PROV_REFUSED invalid requests refused, $nrefused certificates other than admin refused and logged with peer and reason"
