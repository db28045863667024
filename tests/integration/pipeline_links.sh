#!/usr/bin/env bash
# labels: integration;pipeline
# For every link layer and file format the IAP reads (Ethernet, 802.1Q, QinQ, Linux cooked v1/v2,
# raw IP, BSD null in both byte orders, OpenBSD loop, big-endian, nanosecond, pcapng, a prefix
# target, a snaplen-cut capture): mkpcap makes a capture and the expected CC, the three programs
# run over it, and the collector's cc.pcap must equal the expected record for record; hi2.ber and
# hi3.ber must pass etsi-check --canonical --contiguous; every CC record must carry the expected
# payloadDirection (toTarget when the destination is a target); the collector's summary must show no
# gap, duplicate or decode error and as many HI3 records as the IAP sent X3 PDUs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
it_init pipeline_links

pki=$WORK/pki
it_pki "$pki"

# name | mkpcap arguments | targets (space separated)
cases=(
	"ether|--link ether --pad|10.0.0.1 2001:db8:1::1"
	"vlan|--link vlan|10.0.0.1 2001:db8:1::1"
	"qinq|--link qinq --pad|10.0.0.1 2001:db8:1::1"
	"sll|--link sll|10.0.0.1 2001:db8:1::1"
	"sll2|--link sll2 --pad|10.0.0.1 2001:db8:1::1"
	"raw|--link raw --pad|10.0.0.1 2001:db8:1::1"
	"null_le|--link null --endian little|10.0.0.1 2001:db8:1::1"
	"null_be|--link null --endian big|10.0.0.1 2001:db8:1::1"
	"loop|--link loop|10.0.0.1 2001:db8:1::1"
	"ether_be|--link ether --endian big|10.0.0.1 2001:db8:1::1"
	"nsec|--link ether --nsec|10.0.0.1 2001:db8:1::1"
	"pcapng|--link sll2 --pcapng --nsec --endian big|10.0.0.1 2001:db8:1::1"
	"pcapng_us|--link raw --pcapng --pad|10.0.0.1 2001:db8:1::1"
	"prefix|--link ether --pad|10.1.0.0/16 2001:db8:2::/64 192.0.2.7"
	"snaplen|--link vlan --snaplen 96|10.0.0.1 2001:db8:1::/64"
)
only=${IT_ONLY:-} # IT_ONLY=name runs one case (debugging)
n=0
for c in "${cases[@]}"; do
	IFS='|' read -r name args targets <<<"$c"
	[[ -z $only || $only == "$name" ]] || continue
	n=$((n + 1))
	d=$WORK/$name
	mkdir -p "$d"
	targs=()
	for t in $targets; do targs+=(--target "$t"); done
	# shellcheck disable=SC2086 # args is a word list on purpose
	"$IT_MKPCAP" $args --count 300 --seed "$n" "${targs[@]}" -o "$d/in.pcap" \
		--expect "$d/expect.pcap" --expect-dir "$d/expect-dir.txt" >"$d/mkpcap.out" ||
		it_fail "$name: mkpcap failed"
	packets=$(it_kv "$d/mkpcap.out" packets)
	matched=$(it_kv "$d/mkpcap.out" matched)
	non_ip=$(it_kv "$d/mkpcap.out" non_ip)
	cut=$(it_kv "$d/mkpcap.out" cut)
	((matched > 0)) || it_fail "$name: mkpcap matched nothing"

	IT_IAP_ARGS=()
	# shellcheck disable=SC2086
	it_pipeline "$name" "$pki" "$d/in.pcap" full $targets
	st=$WORK/$name-iap.stats
	[[ -s $st ]] || st=$WORK/$name-iap.out
	for kv in "packets_read=$packets" "matched=$matched" "x3_sent=$matched" "x2_sent=0" \
		"skipped_non_ip=$non_ip" "truncated=$cut"; do
		got=$(it_kv "$st" "${kv%%=*}")
		[[ $got == "${kv#*=}" ]] || it_fail "$name: IAP reports ${kv%%=*}=$got, expected ${kv#*=}"
	done
	out=$d/out
	"$IT_PCAPCMP" "$d/expect.pcap" "$out/cc.pcap" >"$d/pcapcmp.out" 2>&1 || {
		cat "$d/pcapcmp.out" >&2
		it_fail "$name: cc.pcap differs from the expected capture"
	}
	it_cc_directions "$out/hi3.ber" >"$d/dir.txt"
	if ! diff -q "$d/expect-dir.txt" "$d/dir.txt" >/dev/null; then
		diff "$d/expect-dir.txt" "$d/dir.txt" | head -n 6 >&2
		it_fail "$name: CC payloadDirection differs from the expected (see $name/dir.txt)"
	fi
	it_etsi_check --quiet --canonical --contiguous "$out/hi2.ber" "$out/hi3.ber"
	it_check_summary "$out"
	hi3=$(it_summary_total "$out" hi3_records)
	[[ $hi3 == "$matched" ]] || it_fail "$name: collector has hi3_records=$hi3, IAP sent $matched"
	it_log "$name: ok (packets=$packets matched=$matched non_ip=$non_ip cut=$cut)"
done
((n > 0)) || it_fail "no case ran (IT_ONLY=$only?)"
it_pass "$n link/format cases"
