#!/usr/bin/env bash
# labels: integration;demo
# scripts/demo against this build (--build-dir, --no-install): it must exit 0 and write the
# outputs it promises. samples/demo.pcap must be exactly what samples/README.md's mkpcap command
# makes, and the demo's cc.pcap exactly mkpcap's expected CC for it. Then an --iri-only run with
# --target: no CC at all, one IRI row per matched packet.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
it_init demo

# The committed sample is reproducible from the documented command.
cmd=$(sed -n '/^  build\/tests\/mkpcap/,/-o samples\/demo.pcap/p' "$IT_SRC/samples/README.md" |
	tr -d '\\\n' | sed 's/^ *build\/tests\/mkpcap//; s/-o samples\/demo.pcap//')
[[ -n $cmd ]] || it_fail "no mkpcap command in samples/README.md"
# shellcheck disable=SC2086 # the documented argument list
"$IT_MKPCAP" $cmd -o "$WORK/demo.pcap" --expect "$WORK/expect.pcap" \
	--expect-iri "$WORK/expect-iri.csv" >"$WORK/mkpcap.out"
cmp -s "$WORK/demo.pcap" "$IT_SRC/samples/demo.pcap" ||
	it_fail "samples/demo.pcap differs from what samples/README.md's command makes"
matched=$(it_kv "$WORK/mkpcap.out" matched)

rc=0
"$IT_SRC/scripts/demo" --no-install --build-dir "$IT_BUILD" --out "$WORK/full" \
	>"$WORK/demo-full.out" 2>"$WORK/demo-full.log" || rc=$?
cat "$WORK/demo-full.out" >&2
[[ $rc == 0 ]] || it_fail "scripts/demo exited $rc"
grep -q '^demo: OK' "$WORK/demo-full.out" || it_fail "scripts/demo did not say OK"
for f in cc.pcap iri.csv hi2.ber hi3.ber summary.txt logs/iap.log logs/mediator.log \
	logs/collector.log; do
	[[ -f $WORK/full/$f ]] || it_fail "scripts/demo wrote no $f"
done
"$IT_PCAPCMP" "$WORK/expect.pcap" "$WORK/full/cc.pcap" >"$WORK/pcapcmp.out" 2>&1 || {
	cat "$WORK/pcapcmp.out" >&2
	it_fail "the demo's cc.pcap is not the expected CC of samples/demo.pcap"
}
grep -qE "matched $matched," "$WORK/demo-full.out" || it_fail "the summary does not report matched $matched"
it_etsi_check --quiet --canonical --contiguous "$WORK/full/hi2.ber" "$WORK/full/hi3.ber"

# --iri-only with a capture and targets of our own: no CC, one IRI row per matched packet.
# shellcheck disable=SC2086
"$IT_MKPCAP" $cmd -o "$WORK/demo2.pcap" --target 198.51.100.0/24 \
	--expect-iri "$WORK/expect-iri2.csv" >"$WORK/mkpcap2.out"
matched2=$(it_kv "$WORK/mkpcap2.out" matched)
rc=0
"$IT_SRC/scripts/demo" --no-install --build-dir "$IT_BUILD" --out "$WORK/iri" --iri-only \
	--pcap "$WORK/demo2.pcap" \
	--target 10.0.0.1 --target 2001:db8:1::/64 --target 198.51.100.0/24 \
	>"$WORK/demo-iri.out" 2>"$WORK/demo-iri.log" || rc=$?
cat "$WORK/demo-iri.out" >&2
[[ $rc == 0 ]] || it_fail "scripts/demo --iri-only exited $rc"
[[ ! -s $WORK/iri/hi3.ber ]] || it_fail "--iri-only: hi3.ber holds data"
it_iri_rows "$WORK/iri/iri.csv" >"$WORK/iri-rows.csv"
n=$(wc -l <"$WORK/iri-rows.csv")
[[ $n == "$matched2" ]] || it_fail "--iri-only: $n IRI packet rows, expected $matched2"
diff -q "$WORK/expect-iri2.csv" "$WORK/iri-rows.csv" >/dev/null ||
	it_fail "--iri-only: iri.csv rows differ from mkpcap's expectation"
it_pass "demo full ($matched CC records) and --iri-only ($matched2 IRI rows)"
