#!/usr/bin/env bash
# labels: integration;conformance
# The codec's PS-PDUs (HI2-like and HI3-like files from tests/tools/pspdu_sample.c, keep-alives
# and the PDU acknowledgement negotiation included) must decode with the decoder Erlang compiles
# from the ETSI modules, be canonical (minimal lengths) and carry contiguous sequence numbers per
# LIID/CIN. The TRI PDUs' values (option lists, sequence numbers) are read back with that same
# decoder and compared with what pspdu_sample wrote.
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
# A cache of the compiled ETSI modules of our own, so the TRI values can be read with them below.
export ETSI_CHECK_CACHE="$work/etsi"
rc=0
"$check" --canonical --contiguous "$work/hi2.ber" "$work/hi3.ber" >"$work/check.out" || rc=$?
cat "$work/check.out"
[[ $rc -eq 0 ]] || { echo "codec_etsi: etsi-check failed ($rc)" >&2; exit 1; }
# Every kind must have been among the records checked (no output alone proves nothing).
for want in 'payload=CC/iPCC' 'IRI/iRI-Begin/iPIRI' 'IRI/iRI-End/iPIRI' \
            'IRI/iRI-Report/iPIRIOnly' 'TRI/keep-alive$' 'TRI/keep-aliveResponse' \
            'TRI/optionRequest$' 'TRI/optionResponse$' 'TRI/optionComplete$' \
            'TRI/pDUAcknowledgementRequest$' 'TRI/pDUAcknowledgementResponse$'; do
  grep -q -- "$want" "$work/check.out" || { echo "codec_etsi: no record matching $want" >&2; exit 1; }
done
# Fields at the bounds of their ranges (sequence numbers not contiguous there).
"$check" --canonical "$work/edge.ber" || { echo "codec_etsi: edge records invalid" >&2; exit 1; }
# The golden vectors (tests/golden/pspdu.md: each one PS-PDU that must pass etsi-check).
mapfile -t golden < <(ls "$LAWTAP_SOURCE_DIR"/tests/golden/pspdu_*.ber)
[[ ${#golden[@]} -ge 14 ]] || { echo "codec_etsi: golden vectors missing" >&2; exit 1; }
"$check" --canonical --quiet "${golden[@]}" || { echo "codec_etsi: golden vectors invalid" >&2; exit 1; }
# The TRI payloads as ETSI's modules decode them: the negotiation on HI2 (pDUAcknowledgement
# declined) and HI3 (accepted, then acknowledgements with the connection's TRI numbers).
[[ -f $ETSI_CHECK_CACHE/LIPS.beam ]] || { echo "codec_etsi: no compiled ETSI modules in $ETSI_CHECK_CACHE" >&2; exit 1; }
cat >"$work/tri.escript" <<'ERL'
#!/usr/bin/env escript
%%! -pa .
main(Files) -> [walk(filename:basename(F), element(2, file:read_file(F)), 1) || F <- Files].
walk(_, <<>>, _) -> ok;
walk(F, B, N) ->
    {ok, V, Rest} = 'LIPS':decode('PS-PDU', B),
    case element(3, V) of
        {tRIPayload, T} -> io:format("~s #~b seq=~b ~0p~n", [F, N, element(6, element(2, V)), T]);
        _ -> ok
    end,
    walk(F, Rest, N + 1).
ERL
(cd "$ETSI_CHECK_CACHE" && escript "$work/tri.escript" "$work/hi2.ber" "$work/hi3.ber" "$work/edge.ber") >"$work/tri.out"
pa="{pDUAcknowledgement,'NULL'}"
p16=$(for _ in $(seq 16); do printf '%s,' "$pa"; done); p16=${p16%,}
cat >"$work/tri.want" <<WANT
hi2.ber #1 seq=0 {optionRequest,{'OptionRequest',[$pa]}}
hi2.ber #2 seq=0 {optionResponse,{'OptionResponse',[],[$pa]}}
hi2.ber #3 seq=1 {optionComplete,'NULL'}
hi2.ber #7 seq=0 {'keep-alive','NULL'}
hi3.ber #1 seq=0 {optionRequest,{'OptionRequest',[$pa]}}
hi3.ber #2 seq=0 {optionResponse,{'OptionResponse',[$pa],[]}}
hi3.ber #3 seq=1 {optionComplete,'NULL'}
hi3.ber #7 seq=2 {pDUAcknowledgementRequest,'NULL'}
hi3.ber #8 seq=2 {pDUAcknowledgementResponse,'NULL'}
hi3.ber #10 seq=0 {'keep-alive','NULL'}
hi3.ber #11 seq=0 {'keep-aliveResponse','NULL'}
hi3.ber #13 seq=3 {pDUAcknowledgementRequest,'NULL'}
hi3.ber #14 seq=3 {pDUAcknowledgementResponse,'NULL'}
hi3.ber #18 seq=4 {pDUAcknowledgementRequest,'NULL'}
hi3.ber #19 seq=4 {pDUAcknowledgementResponse,'NULL'}
edge.ber #8 seq=4294967295 {optionRequest,{'OptionRequest',[]}}
edge.ber #9 seq=4294967295 {optionRequest,{'OptionRequest',[$p16]}}
edge.ber #10 seq=4294967295 {optionResponse,{'OptionResponse',[$p16],[$p16]}}
edge.ber #11 seq=4294967295 {optionResponse,{'OptionResponse',[],[]}}
edge.ber #12 seq=0 {optionComplete,'NULL'}
edge.ber #13 seq=0 {pDUAcknowledgementRequest,'NULL'}
edge.ber #14 seq=0 {pDUAcknowledgementResponse,'NULL'}
WANT
if ! diff "$work/tri.want" "$work/tri.out"; then
  echo "codec_etsi: TRI payloads differ from what pspdu_sample wrote (< expected, > decoded)" >&2
  exit 1
fi
echo "codec_etsi: $(wc -l <"$work/tri.out") TRI payloads as expected"
echo "codec_etsi: OK"
