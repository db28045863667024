#!/usr/bin/env bash
# labels: integration;provisioning
# The audit trail: provisioning acts by two admin certificates (CN=admin, CN=alice-op) are all
# recorded with who, what, when and result, each entry chained to the previous one by hash, and
# `lawtap-ctl audit verify` passes. Then, with the sqlite3 CLI on the mediator's store (as an
# intruder with file access would), each of these is detected by `audit verify` (exit 1) naming
# the entry, and undone before the next: changing one entry (UPDATE), deleting one in the middle,
# swapping two (reorder), deleting the newest (caught by the head file kept outside the store).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/prov.sh"
prov_init prov_audit
it_need sqlite3
"$IT_MKPKI" "$WORK/pki" --extra alice admin --cn alice-op >"$WORK/mkpki-alice.out" 2>&1 ||
	it_fail "mkpki --extra alice admin"
prov_mediator med
db=$PROV_STATE/lawtap.db
hi2_1="" hi3_1="" hi2_2="" hi3_2=""
it_port hi2_1
it_port hi3_1
it_port hi2_2
it_port hi3_2
it_start_collector col1 "$WORK/pki" "$hi2_1" "$hi3_1" "$WORK/col1"
it_start_collector col2 "$WORK/pki" "$hi2_2" "$hi3_2" "$WORK/col2"

# ---- acts ----
ctl_ok lea add --id lea1 --country NL --hi2 "127.0.0.1:$hi2_1" --hi3 "127.0.0.1:$hi3_1"
ctl_ok warrant add --liid AUD-1 --country NL --lea lea1 --target 10.0.0.1 --mode full
ctl_refused 400 country lea add --id lea9 --country nl --hi2 127.0.0.1:1 --hi3 127.0.0.1:2
ctl_ok warrant modify NL/AUD-1 --add-target 10.0.0.2
ctl_ok --cert "$WORK/pki/alice.pem" --key "$WORK/pki/alice.key" \
	lea add --id lea2 --country BE --hi2 "127.0.0.1:$hi2_2" --hi3 "127.0.0.1:$hi3_2"
ctl_ok --cert "$WORK/pki/alice.pem" --key "$WORK/pki/alice.key" \
	warrant add --liid AUD-2 --country BE --lea lea2 --target 2001:db8::/64 --mode iri-only
ctl_ok warrant end NL/AUD-1
ctl_ok lea modify lea1 --keepalive-idle 60

# ---- the trail ----
j=$(ctl_json audit list)
n=$(jq '.entries | length' <<<"$j")
((n >= 7)) || it_fail "audit list has $n entries, expected at least 7 acts"
[[ $(jq -c '[.entries[].seq]' <<<"$j") == "$(jq -nc "[range(1; $n + 1)]")" ]] ||
	it_fail "audit seqs are not 1..$n: $(jq -c '[.entries[].seq]' <<<"$j")"
jq -e '[.entries[] | (.hash | test("^[0-9a-f]{64}$")) and (.prev | test("^[0-9a-f]{64}$"))] | all' \
	<<<"$j" >/dev/null ||
	it_fail "audit entries without a SHA-256 hash"
jq -e '[range(1; .entries | length) as $i | .entries[$i].prev == .entries[$i - 1].hash] | all' <<<"$j" >/dev/null ||
	it_fail "audit entries are not chained (prev != the previous entry's hash)"
for want in 'lea1|CN=admin|ok' 'NL/AUD-1|CN=admin|ok' 'lea2|CN=alice-op|ok' 'BE/AUD-2|CN=alice-op|ok' \
	'lea9|CN=admin|'; do
	IFS='|' read -r obj who res <<<"$want"
	jq -e --arg o "$obj" --arg w "$who" --arg r "$res" \
		'[.entries[] | select((.object | contains($o)) and (.who | contains($w)) and
			($r == "" or .result == $r) and (.time | length > 0) and (.action | length > 0))] | length > 0' \
		<<<"$j" >/dev/null || it_fail "no audit entry for $obj by $who${res:+ with result $res}"
done
# the refused request is recorded too, with a result that is not ok
jq -e '[.entries[] | select((.object | contains("lea9")) and .result != "ok")] | length > 0' \
	<<<"$j" >/dev/null || it_fail "the refused request is not recorded as refused"
ctl_ok audit list
head -n 1 "$WORK/ctl.out" | grep -qE '^SEQ +TIME +WHO +ACTION +OBJECT +RESULT' ||
	it_fail "audit list table: $(head -n 2 "$WORK/ctl.out")"
ctl_ok audit verify
grep -q "audit trail ok: $n entries" "$WORK/ctl.out" || it_fail "audit verify: $(cat "$WORK/ctl.out")"

# ---- tampering ----
[[ -f $db ]] || it_fail "no store at $db"
sql() { sqlite3 -cmd '.timeout 5000' "$db" "$@" || it_fail "sqlite3 $*"; }
row() { sqlite3 -cmd '.timeout 5000' "$db" ".mode insert audit" "SELECT * FROM audit WHERE seq = $1"; }
# expect_bad SEQ WHAT: audit verify must fail (exit 1) naming entry SEQ, in the table and JSON.
expect_bad() {
	ctl audit verify
	[[ $CTL_RC == 1 ]] || it_fail "$2: audit verify exited $CTL_RC: $(cat "$WORK/ctl.out")"
	grep -qE "FAILED.*entry $1([^0-9]|$)" "$WORK/ctl.out" ||
		it_fail "$2: audit verify does not name entry $1: $(cat "$WORK/ctl.out")"
	ctl audit verify --json
	[[ $CTL_RC == 1 && $(jq -r '"\(.ok) \(.entry)"' "$WORK/ctl.out") == "false $1" ]] ||
		it_fail "$2: audit verify --json: $(cat "$WORK/ctl.out") (exit $CTL_RC)"
	it_log "$2: detected: $(head -n 1 "$WORK/ctl.out" | jq -r .error)"
}
expect_good() {
	ctl audit verify
	[[ $CTL_RC == 0 ]] || it_fail "after undoing $1, audit verify still fails: $(cat "$WORK/ctl.out")"
}

# 1. one entry changed
who3=$(sql "SELECT who FROM audit WHERE seq = 3")
sql "UPDATE audit SET who = 'CN=mallory' WHERE seq = 3"
expect_bad 3 "UPDATE of entry 3"
sql "UPDATE audit SET who = '${who3//\'/\'\'}' WHERE seq = 3"
expect_good "the UPDATE"

# 2. one deleted in the middle
mid=$((n / 2 + 1))
saved=$(row "$mid")
sql "DELETE FROM audit WHERE seq = $mid"
expect_bad "$mid" "DELETE of entry $mid (middle)"
sql "$saved"
expect_good "the DELETE"

# 3. two swapped (reordered): entry 2 and entry 4 exchange their contents
sql "BEGIN; UPDATE audit SET seq = -2 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 4;
     UPDATE audit SET seq = 4 WHERE seq = -2; COMMIT;"
expect_bad 2 "entries 2 and 4 swapped"
sql "BEGIN; UPDATE audit SET seq = -2 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 4;
     UPDATE audit SET seq = 4 WHERE seq = -2; COMMIT;"
expect_good "the swap"

# 4. the newest deleted: the chain in the store is still whole, the head file is not
newest=$(sql "SELECT max(seq) FROM audit")
sql "DELETE FROM audit WHERE seq = $newest"
expect_bad "$newest" "DELETE of the newest entry ($newest)"

it_stop med 60
[[ $IT_RC == 0 ]] || it_fail "mediator exited $IT_RC after SIGTERM"
it_stop col1
it_stop col2
it_pass "$n entries chained and verified; edit, middle delete, reorder and newest delete detected"
