#!/usr/bin/env bash
# labels: integration;provisioning
# Three warrants provisioned through lawtap-ctl over the same traffic, each for its own LEA (its
# own collector): lea1 <- NL/TWO-1 target 10.0.0.1; lea2 <- NL/TWO-2 target 2001:db8:1::1;
# lea3 <- NL/TWO-3 target 10.0.0.1 narrowed by --filter 'port 6667'. Each collector's cc.pcap must
# equal mkpcap's expectation for its warrant alone (lea3: exactly the target's packets to or from
# port 6667), carry only its own LIID, with the expected payloadDirection, no gap or duplicate;
# etsi-check passes on every LEA's HI2/HI3 stream.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/prov.sh"
prov_init prov_two_leas
pki=$WORK/pki

prov_mediator med

# lea id | LIID | target | mkpcap expectation arguments | lawtap-ctl extra arguments
cases=(
	"lea1|TWO-1|10.0.0.1|--expect-target 10.0.0.1|"
	"lea2|TWO-2|2001:db8:1::1|--expect-target 2001:db8:1::1|"
	"lea3|TWO-3|10.0.0.1|--expect-target 10.0.0.1 --expect-port 6667|--filter=port 6667"
)
hi2="" hi3=""
gen=(--link ether --count 800 --seed 33 --port 6667 --target 10.0.0.1 --target 2001:db8:1::1)
for c in "${cases[@]}"; do
	IFS='|' read -r lea liid target exp extra <<<"$c"
	d=$WORK/$lea
	mkdir -p "$d"
	it_port hi2
	it_port hi3
	it_start_collector "col-$lea" "$pki" "$hi2" "$hi3" "$d/out"
	ctl_ok lea add --id "$lea" --country NL --hi2 "127.0.0.1:$hi2" --hi3 "127.0.0.1:$hi3"
	args=(warrant add --liid "$liid" --country NL --lea "$lea" --target "$target" --mode full)
	[[ -z $extra ]] || args+=("$extra")
	ctl_ok "${args[@]}"
	# shellcheck disable=SC2086 # exp is a word list
	"$IT_MKPCAP" "${gen[@]}" $exp -o "$WORK/in.pcap" --expect "$d/expect.pcap" \
		--expect-dir "$d/expect-dir.txt" >"$d/mkpcap.out" || it_fail "mkpcap failed"
	n=$(it_kv "$d/mkpcap.out" expected)
	((n > 0)) || it_fail "$lea: mkpcap expects nothing"
	it_log "$lea: $liid target $target ${extra:+($extra) }expects $n packets"
done
ctl_ok warrant list
cat "$WORK/ctl.out" >&2

it_run_iap iap "$pki" "$WORK/in.pcap" "$PROV_XP" "$PROV_TP"
[[ $IT_RC == 0 ]] || it_fail "lawtap-iap exited $IT_RC"
it_stop med 60
[[ $IT_RC == 0 ]] || it_fail "mediator exited $IT_RC after SIGTERM"

for c in "${cases[@]}"; do
	IFS='|' read -r lea liid target exp extra <<<"$c"
	d=$WORK/$lea
	it_stop "col-$lea" 30
	[[ $IT_RC == 0 ]] || it_fail "collector of $lea exited $IT_RC"
	out=$d/out
	"$IT_PCAPCMP" "$d/expect.pcap" "$out/cc.pcap" >"$d/pcapcmp.out" 2>&1 || {
		cat "$d/pcapcmp.out" >&2
		it_fail "$lea: cc.pcap is not exactly the packets of $liid (target $target ${extra})"
	}
	it_cc_directions "$out/hi3.ber" >"$d/dir.txt"
	diff -q "$d/expect-dir.txt" "$d/dir.txt" >/dev/null ||
		it_fail "$lea: CC payloadDirection differs from the expected"
	others=$(grep -E '^liid=' "$out/summary.txt" | grep -v "^liid=$liid " || true)
	[[ -z $others ]] || it_fail "$lea received records of another warrant: $others"
	it_check_summary "$out"
	it_etsi_check --quiet --canonical --contiguous "$out/hi2.ber" "$out/hi3.ber"
	it_log "$lea: $(tail -n 1 "$d/pcapcmp.out"), etsi-check ok"
done
it_pass "three warrants, three LEAs, each got exactly its own packets (filter narrowed lea3)"
