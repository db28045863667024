#!/usr/bin/env bash
# labels: integration;conformance
# The codec's PS-PDUs (HI2-like and HI3-like files from tests/tools/pspdu_sample.c, keep-alives
# included) must decode with the decoder Erlang compiles from the ETSI modules, be canonical
# (minimal lengths) and carry contiguous sequence numbers per LIID/CIN.
set -euo pipefail
: "${LAWTAP_SOURCE_DIR:?}" "${LAWTAP_BUILD_DIR:?}"
check="${LAWTAP_SHARED_DIR:-$LAWTAP_SOURCE_DIR/../shared}/tools/etsi-check"
tool="$LAWTAP_BUILD_DIR/tests/pspdu_sample"
[[ -x $check ]] || { echo "codec_etsi: $check not found" >&2; exit 1; }
[[ -x $tool ]] || { echo "codec_etsi: $tool not built" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$tool" "$work/hi2.ber" "$work/hi3.ber" "$work/edge.ber"
for f in hi2 hi3 edge; do
  [[ -s $work/$f.ber ]] || { echo "codec_etsi: $f.ber is empty" >&2; exit 1; }
done
rc=0
"$check" --canonical --contiguous "$work/hi2.ber" "$work/hi3.ber" >"$work/check.out" || rc=$?
cat "$work/check.out"
[[ $rc -eq 0 ]] || { echo "codec_etsi: etsi-check failed ($rc)" >&2; exit 1; }
# Every kind must have been among the records checked (no output alone proves nothing).
for want in 'payload=CC/iPCC' 'IRI/iRI-Begin/iPIRI' 'IRI/iRI-End/iPIRI' \
            'IRI/iRI-Report/iPIRIOnly' 'TRI/keep-alive$' 'TRI/keep-aliveResponse'; do
  grep -q -- "$want" "$work/check.out" || { echo "codec_etsi: no record matching $want" >&2; exit 1; }
done
# Fields at the bounds of their ranges (sequence numbers not contiguous there).
"$check" --canonical "$work/edge.ber" || { echo "codec_etsi: edge records invalid" >&2; exit 1; }
echo "codec_etsi: OK"
