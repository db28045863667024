# shellcheck shell=bash
# tests/integration/lib/prov.sh: helpers of the provisioning tests (prov_*.sh), sourced after
# common.sh. The mediator runs with rest_listen and an empty store (no LEA, no warrant in its
# config); everything is provisioned through lawtap-ctl.
#
#   prov_init NAME                 it_init, a PKI in WORK/pki, checks lawtap-ctl, jq
#   prov_mediator NAME [STATE]     ports, config (WORK/NAME.yaml), start, WORK/ctl.conf
#                                  (PROV_REST, PROV_XP, PROV_TP set; STATE default WORK/state)
#   prov_restart_mediator NAME     SIGTERM, then the same config again (same ports)
#   ctl ARGS...                    lawtap-ctl --config WORK/ctl.conf ARGS: stdout WORK/ctl.out,
#                                  stderr WORK/ctl.err, exit code in CTL_RC (never fails)
#   ctl_ok ARGS...                 ctl, fails the test unless it exits 0
#   ctl_json ARGS...               ctl_ok ARGS --json, prints stdout
#   ctl_refused STATUS RE ARGS...  ctl must exit 1 with "lawtap-ctl: STATUS: ..." matching RE
#   prov_store_snapshot FILE       LEAs, warrants (jq -S) of the store, for before/after checks
#   prov_iap_field IAP FIELD       a member of IAP's entry in `iap list --json` ("" if none)
#   prov_task_version IAP          the task version the mediator last sent IAP (0 if none)
#   prov_wait_acked IAP PREV [S]   waits until IAP is connected and acknowledged a task version
#                                  greater than PREV (the change made after reading PREV);
#                                  logs the ack latency the mediator measured
#   prov_now                       wall clock, seconds with nanoseconds (date +%s.%N)
#   prov_iso T                     seconds since 1970 -> YYYY-MM-DDTHH:MM:SSZ
#   prov_pkts PCAP                 "time,src,dst,sport,dport" per IP packet (tshark)

IT_CTL=$IT_BUILD/ctl/lawtap-ctl
PROV_REST=""
PROV_XP=""
PROV_TP=""
PROV_STATE=""
CTL_RC=0
PROV_REFUSED=0 # refusals checked by ctl_refused

prov_init() {
	it_init "$1"
	[[ -x $IT_CTL ]] || it_fail "$IT_CTL is not built"
	it_need jq
	it_pki "$WORK/pki"
	# shellcheck disable=SC2034 # used by common.sh's it_sclient
	IT_CA=$WORK/pki/ca.pem
}

# prov_write_conf FILE STATE: a mediator config with the REST API on and no LEA or warrant.
prov_write_conf() {
	local file=$1 state=$2 pki=$WORK/pki
	mkdir -p "$state"
	cat >"$file" <<EOF
# written by tests/integration/lib/prov.sh: LEAs and warrants come from lawtap-ctl
mediator:
  x2x3_listen: 127.0.0.1:$PROV_XP
  tasking_listen: 127.0.0.1:$PROV_TP
  rest_listen: 127.0.0.1:$PROV_REST
  operator_id: lawtap-op
  network_element_id: med1
  state_dir: $state
  drain_timeout: 20
  tls: { ca: $pki/ca.pem, cert: $pki/mediator.pem, key: $pki/mediator.key }
EOF
}

# prov_ctl_conf FILE [CERT KEY]: a lawtap-ctl config towards this test's mediator.
prov_ctl_conf() {
	local file=$1 cert=${2:-$WORK/pki/admin.pem} key=${3:-$WORK/pki/admin.key}
	cat >"$file" <<EOF
# lawtap-ctl config written by tests/integration/lib/prov.sh
url = https://127.0.0.1:$PROV_REST
ca = $WORK/pki/ca.pem
cert = $cert
key = $key
timeout = $((20 * IT_SLOW))
EOF
}

prov_mediator() {
	local name=$1
	PROV_STATE=${2:-$WORK/state}
	it_port PROV_XP
	it_port PROV_TP
	it_port PROV_REST
	prov_write_conf "$WORK/$name.yaml" "$PROV_STATE"
	prov_ctl_conf "$WORK/ctl.conf"
	it_start_mediator "$name" "$WORK/$name.yaml" "$PROV_XP" "$PROV_TP"
	it_wait_port "$name" "$PROV_REST"
}

prov_restart_mediator() {
	local name=$1
	it_stop "$name" 60
	[[ $IT_RC == 0 ]] || it_fail "$name exited $IT_RC after SIGTERM"
	it_start_mediator "$name" "$WORK/$name.yaml" "$PROV_XP" "$PROV_TP"
	it_wait_port "$name" "$PROV_REST"
}

ctl() {
	CTL_RC=0
	timeout -k 2 $((60 * IT_SLOW)) "$IT_CTL" --config "$WORK/ctl.conf" "$@" \
		>"$WORK/ctl.out" 2>"$WORK/ctl.err" || CTL_RC=$?
	{
		printf '$ lawtap-ctl %s  -> %s\n' "$*" "$CTL_RC"
		cat "$WORK/ctl.out" "$WORK/ctl.err"
	} >>"$WORK/ctl.history"
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$WORK/ctl.err"; then
		it_fail "lawtap-ctl $*: sanitizer report: $(head -n 3 "$WORK/ctl.err")"
	fi
	return 0
}

ctl_ok() {
	ctl "$@"
	[[ $CTL_RC == 0 ]] || it_fail "lawtap-ctl $* exited $CTL_RC: $(head -c 400 "$WORK/ctl.err")"
}

ctl_json() {
	ctl_ok "$@" --json
	cat "$WORK/ctl.out"
}

# ctl_refused STATUS ERE ARGS...: the server must refuse with STATUS and a message matching ERE.
ctl_refused() {
	local status=$1 re=$2
	shift 2
	ctl "$@"
	[[ $CTL_RC == 1 ]] ||
		it_fail "lawtap-ctl $* exited $CTL_RC, expected 1 (refused): $(head -c 300 "$WORK/ctl.err")"
	grep -qE -- "^lawtap-ctl: $status: .*$re" "$WORK/ctl.err" ||
		it_fail "lawtap-ctl $*: expected '$status: ...$re...', got: $(head -c 300 "$WORK/ctl.err")"
	PROV_REFUSED=$((PROV_REFUSED + 1))
	it_log "refused as expected: $*: $(head -n 1 "$WORK/ctl.err")"
}

# The store as the API shows it, canonical (sorted keys), for before/after comparisons.
prov_store_snapshot() {
	{
		ctl_json lea list | jq -S .
		ctl_json warrant list | jq -S .
	} >"$1"
}

prov_iap_field() {
	ctl_json iap list | jq -r --arg id "$1" --arg f "$2" \
		'[.iaps[] | select(.id == $id)][0][$f] // empty | tostring'
}

prov_task_version() {
	local v
	v=$(prov_iap_field "$1" task_version)
	echo "${v:-0}"
}

prov_acked_above() { # IAP PREV: 0 when IAP is connected and acked a version > PREV
	local j
	ctl iap list --json
	[[ $CTL_RC == 0 ]] || return 1
	j=$(jq -r --arg id "$1" '[.iaps[] | select(.id == $id)][0] |
		"\(.connected) \(.task_version // 0) \(.acked_version // 0)"' "$WORK/ctl.out")
	local conn tv av
	read -r conn tv av <<<"$j"
	[[ $conn == true && $tv =~ ^[0-9]+$ && $av =~ ^[0-9]+$ ]] || return 1
	((av > $2 && av == tv))
}

prov_wait_acked() {
	local iap=$1 prev=$2 secs=${3:-20}
	it_wait_for "$iap to acknowledge a task version above $prev" "$secs" \
		prov_acked_above "$iap" "$prev"
	it_log "$iap acked version $(prov_iap_field "$iap" acked_version)" \
		"(ack latency $(prov_iap_field "$iap" ack_latency_ms) ms)"
}

prov_now() { date +%s.%N; }

prov_iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# prov_sleep_until T: waits for the wall clock to reach T (a point in the replay's schedule: the
# traffic is paced by the clock, so this is the only way to act between two of its phases).
prov_sleep_until() {
	local d
	d=$(awk -v t="$1" -v n="$(prov_now)" 'BEGIN { d = t - n; if (d < 0) d = 0; printf "%.3f", d }')
	sleep "$d"
}

# prov_pkts PCAP: one line per IP packet "time,src,dst,sport,dport" (ports empty for ICMP).
prov_pkts() {
	it_need tshark
	tshark -r "$1" -T fields -E separator=, -E occurrence=f -e frame.time_epoch \
		-e ip.src -e ip.dst -e ipv6.src -e ipv6.dst -e tcp.srcport -e tcp.dstport \
		-e udp.srcport -e udp.dstport 2>"$WORK/tshark.err" |
		awk -F, '{
			s = $2 != "" ? $2 : $4; d = $3 != "" ? $3 : $5
			if (s == "") next
			sp = $6 != "" ? $6 : $8; dp = $7 != "" ? $7 : $9
			print $1 "," s "," d "," sp "," dp
		}'
}

# ---- checking a live run (prov_live.sh) ----
# The IAP replays at the recorded pace with times rebased to now (lawtap-iap --pace): packet i of
# the input gets the time of interception base + (t_i - t_0). A schedule file says which target
# set a warrant had when, one line each, times in seconds since 1970 (wall clock):
#   init SET              the set before any change ("-" = none; SET is a,b,c)
#   change LO HI SET      a change requested at LO, in force (acknowledged by the IAP) at HI
# A packet whose time lies in [LO, HI] may follow either set (counted as ambiguous); every other
# packet must be delivered exactly when its source or destination is in the set in force.

# prov_live_base INPUT_LIST DELIVERED_LIST SET: the replay's base time, from the first delivered
# record, which must be the first input packet to or from SET (the set before any change).
prov_live_base() {
	awk -F, -v set="$3" '
	function tm(s, T,   a) { split(s, a, "."); return (a[1] - T) + ("0." a[2]) }
	BEGIN { n = split(set, m, ","); for (i = 1; i <= n; i++) in_set[m[i]] = 1 }
	FNR == 1 { file++ }
	file == 1 && FNR == 1 { split($1, z, "."); Ti = z[1]; t0 = tm($1, Ti) }
	file == 1 && !found && (($2 in in_set) || ($3 in in_set)) {
		found = 1; off = tm($1, Ti) - t0; ks = $2; kd = $3
	}
	file == 2 && FNR == 1 {
		done = 1
		if (!found) { print "no input packet to or from " set > "/dev/stderr"; exit 1 }
		if ($2 != ks || $3 != kd) {
			print "the first delivered record (" $2 " > " $3 ") is not the first input packet of " set " (" ks " > " kd ")" > "/dev/stderr"
			exit 1
		}
		split($1, z, "."); Td = z[1]
		printf "%d %.9f\n", Td, tm($1, Td) - off
		exit 0
	}
	END { if (!done) { print "nothing delivered" > "/dev/stderr"; exit 1 } }
	' "$1" "$2"
}

# prov_live_check NAME INPUT_LIST DELIVERED_LIST SCHEDULE "BASE_INT BASE_FRAC": checks one LEA's
# records against the schedule; prints "must=N may=M may_delivered=K never=X delivered=D" or
# fails naming the first packets that are missing or should not be there.
prov_live_check() {
	local name=$1 res
	res=$(awk -F, -v bi="${5% *}" -v bf="${5#* }" '
	function tm(s, T,   a) { split(s, a, "."); return (a[1] - T) + ("0." a[2]) }
	function member(set, s, d,   m, n, i) {
		if (set == "-") return 0
		n = split(set, m, ",")
		for (i = 1; i <= n; i++) if (m[i] == s || m[i] == d) return 1
		return 0
	}
	FNR == 1 { file++ }
	file == 1 { # schedule
		split($0, f, " ")
		if (f[1] == "init") init = f[2]
		else if (f[1] == "change") { nc++; lo[nc] = f[2] - bi; hi[nc] = f[3] - bi; cs[nc] = f[4] }
		next
	}
	file == 2 { # input
		if (FNR == 1) { split($1, z, "."); Ti = z[1]; t0 = tm($1, Ti) }
		ni++; it[ni] = bf + (tm($1, Ti) - t0); is[ni] = $2; id[ni] = $3
		next
	}
	file == 3 { nd++; dt[nd] = tm($1, bi); ds[nd] = $2; dd[nd] = $3 }
	END {
		j = 1; bad = 0
		for (i = 1; i <= ni; i++) {
			r = it[i]; cur = init; amb = 0
			for (k = 1; k <= nc; k++) {
				if (r > hi[k]) cur = cs[k]
				else { if (r >= lo[k]) { amb = 1; nxt = cs[k] } ; break }
			}
			m = member(cur, is[i], id[i])
			st = m ? "must" : "never"
			if (amb && member(nxt, is[i], id[i]) != m) st = "may"
			hit = (j <= nd && ds[j] == is[i] && dd[j] == id[i] && dt[j] - r < 0.000002 && r - dt[j] < 0.000002)
			cnt[st]++
			if (st == "must") {
				if (hit) j++
				else if (bad++ < 5) printf "missing: input packet %d (%s > %s at +%.6f s), in force: %s\n", i, is[i], id[i], r, cur > "/dev/stderr"
			} else if (st == "may") {
				if (hit) { j++; cnt["may_delivered"]++ }
			} else if (hit) {
				if (bad++ < 5) printf "unexpected: input packet %d (%s > %s at +%.6f s) delivered, in force: %s\n", i, is[i], id[i], r, cur > "/dev/stderr"
				j++
			}
		}
		if (j <= nd) { bad++; printf "%d delivered records left unexplained, first %s > %s at +%.6f s\n", nd - j + 1, ds[j], dd[j], dt[j] > "/dev/stderr" }
		printf "must=%d may=%d may_delivered=%d never=%d delivered=%d\n", cnt["must"], cnt["may"], cnt["may_delivered"], cnt["never"], nd
		exit bad ? 1 : 0
	}' "$4" "$2" "$3" 2>"$WORK/$name.check.err") || {
		cat "$WORK/$name.check.err" >&2
		it_fail "$name: the delivered records do not follow the target sets in force ($res)"
	}
	echo "$res"
}

# ---- PS-PDU headers decoded by an independent decoder ----
# prov_ps_headers FILE...: one line per PS-PDU of each file (concatenated PS-PDUs, as the
# collector's hi2.ber/hi3.ber hold them), decoded by Erlang's ASN.1 BER decoder compiled from
# ETSI's own LI-PS-PDU module: the one etsi-check builds (its cache, filled by any etsi-check run;
# it_etsi_check runs it first when the cache is missing), so neither lawtap's encoder nor its
# asn1c decoder has a say. Fields, space-separated:
#   FILE KIND LIID CIN SEQ TIME OPERATOR NE DELIVERY_CC
# KIND cc|iri|other; TIME whole seconds of microSecondTimeStamp ("-" when absent); NE and
# DELIVERY_CC "-" when absent. LIID, operator and NE ids are printed only when they are visible
# ASCII (else the line says "nonprint"), so a field never holds a space.
prov_ps_headers() {
	local here=$IT_SHARED/tools/etsi-check.d sum cache
	command -v escript >/dev/null || it_fail "needs escript (erlang-base) for the PS-PDU decoder"
	sum=$(cat "$here"/asn1/* "$here"/check.escript | sha256sum | cut -c1-16)
	cache=${ETSI_CHECK_CACHE:-$(dirname "$(mktemp -u)")/etsi-check-$sum}
	if [[ ! -f $cache/LIPS.beam ]]; then
		# any run of etsi-check compiles ETSI's modules into the cache
		"$IT_ETSI" --allow-empty --quiet /dev/null >/dev/null 2>&1 || true
	fi
	[[ -f $cache/LIPS.beam ]] || it_fail "etsi-check's compiled ETSI modules not found in $cache"
	cat >"$WORK/ps_headers.escript" <<'ERL'
#!/usr/bin/env escript
%%! -pa .
-mode(compile).
main(Files) -> lists:foreach(fun(F) -> {ok, B} = file:read_file(F), walk(F, B, 1) end, Files).
walk(_F, <<>>, _N) -> ok;
walk(F, Bin, N) ->
    case catch 'LIPS':decode('PS-PDU', Bin) of
        {ok, {'PS-PDU', H, P}, Rest} -> line(F, H, P), walk(F, Rest, N + 1);
        Other -> io:format(standard_error, "~s: record ~b does not decode: ~0P~n", [F, N, Other, 12]), halt(1)
    end.
line(F, H, P) ->
    Liid = element(3, H), Comm = element(5, H), Seq = element(6, H),
    Net = element(2, Comm), Cin = element(3, Comm), Dcc = element(4, Comm),
    Op = element(2, Net), Ne = element(3, Net),
    Time = case element(9, H) of {'MicroSecondTimeStamp', S, _} -> integer_to_list(S); _ -> "-" end,
    io:format("~s ~s ~s ~s ~p ~s ~s ~s ~s~n",
              [F, kind(P), txt(Liid), opt(Cin), Seq, Time, txt(Op), txt(Ne), txt(Dcc)]).
kind({cCPayloadSequence, _}) -> "cc";
kind({iRIPayloadSequence, _}) -> "iri";
kind(_) -> "other".
opt(asn1_NOVALUE) -> "-";
opt(I) when is_integer(I) -> integer_to_list(I).
txt(asn1_NOVALUE) -> "-";
txt(B) when is_binary(B) -> txt(binary_to_list(B));
txt(L) when is_list(L) ->
    case L =/= [] andalso lists:all(fun(C) -> C > 16#20 andalso C < 16#7f end, L) of
        true -> L; false -> "nonprint"
    end.
ERL
	local f abs=()
	for f in "$@"; do abs+=("$(realpath "$f")"); done
	(cd "$cache" && escript "$WORK/ps_headers.escript" "${abs[@]}") 2>"$WORK/ps_headers.err" ||
		it_fail "the ETSI decoder failed: $(head -c 400 "$WORK/ps_headers.err")"
}
