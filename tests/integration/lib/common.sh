# shellcheck shell=bash
# tests/integration/lib/common.sh: shared helpers for the integration tests (bash, sourced).
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
#   it_init NAME                      # work dir $LAWTAP_BUILD_DIR/it/NAME, traps, binaries
#   it_pki DIR [mkpki args]           # a PKI (certs/mkpki)
#   it_port VAR                       # VAR=a free TCP port on 127.0.0.1
#   it_mediator_conf FILE --pki D --x2x3 P --tasking P --hi2 P --hi3 P [--mode full|iri-only]
#                    [--target A]... [--liid L] [--state D] [--drain S] [--country CC]
#   it_start_collector NAME PKI HI2 HI3 OUTDIR [args]   # background, waits for both ports
#   it_start_mediator NAME CONF XPORT TPORT             # background, waits for both ports
#   it_run_iap NAME PKI PCAP XPORT TPORT [args]         # foreground, bounded, stats in NAME.stats
#   it_stop NAME [SECONDS]            # SIGTERM, bounded wait, exit code in IT_RC
#   it_etsi_check [args] FILES        # ../shared/tools/etsi-check
#   it_kv FILE KEY                    # value of KEY=... in a one-line "k=v k=v" file
#   it_summary_total OUTDIR KEY       # value of KEY on the "total" line of OUTDIR/summary.txt
#   it_fail MSG / it_pass             # end the test
# Processes started here are killed by the EXIT trap if still running. Logs: WORK/NAME.log
# (stderr) and WORK/NAME.out (stdout). Nothing waits with a fixed sleep: every wait is a poll
# with a bound.

IT_SRC=${LAWTAP_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
IT_BUILD=${LAWTAP_BUILD_DIR:-$IT_SRC/build}
IT_IAP=$IT_BUILD/iap/lawtap-iap
IT_MED=$IT_BUILD/mediation/lawtap-mediator
IT_COL=$IT_BUILD/handover/lawtap-collector
IT_MKPCAP=$IT_BUILD/tests/mkpcap
IT_PCAPCMP=$IT_BUILD/tests/pcapcmp
IT_MKPKI=$IT_SRC/certs/mkpki
IT_SHARED=${LAWTAP_SHARED_DIR:-$IT_SRC/../shared}
IT_ETSI=${IT_ETSI_CHECK:-$IT_SHARED/tools/etsi-check}
IT_X2X3_LUA=$IT_SHARED/tools/x2x3.lua
IT_NAME=""
WORK=""
IT_RC=0
IT_DONE=0
declare -A IT_PID=()
declare -A IT_PORTS_USED=()

# Sanitizer runs: make every report fatal and visible in the logs.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Slower under sanitizers: scale the bounds of every wait.
if [[ ${LAWTAP_SANITIZE:-OFF} =~ ^(ON|on|1|TRUE|true|YES|yes)$ ]]; then
	IT_SLOW=3
else
	IT_SLOW=1
fi

it_log() { printf '%s: %s\n' "${IT_NAME:-it}" "$*" >&2; }

# Prints the tail of every log of the work dir (on failure).
it_dump_logs() {
	local f
	[[ -n $WORK && -d $WORK ]] || return 0
	for f in "$WORK"/*.log "$WORK"/*.out; do
		[[ -s $f ]] || continue
		echo "----- ${f#"$WORK"/} (last 25 lines) -----" >&2
		tail -n 25 "$f" >&2
	done
}

it_fail() {
	it_log "FAIL: $*"
	it_dump_logs
	IT_DONE=1
	exit 1
}

it_pass() {
	it_log "PASS${1:+: $*}"
	IT_DONE=1
	exit 0
}

it_alive() { # PID -> 0 while running (not a zombie)
	local st
	[[ -r /proc/$1/stat ]] || return 1
	st=$(sed -E 's/^.*\) (.).*$/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ $st != Z && -n $st ]]
}

it_cleanup() {
	local rc=$? name pid
	for name in "${!IT_PID[@]}"; do
		pid=${IT_PID[$name]}
		if it_alive "$pid"; then
			it_log "cleanup: killing leftover $name (pid $pid)"
			kill -TERM "$pid" 2>/dev/null || true
		fi
	done
	for name in "${!IT_PID[@]}"; do
		pid=${IT_PID[$name]}
		local i
		for ((i = 0; i < 50; i++)); do
			it_alive "$pid" || break
			sleep 0.1
		done
		if it_alive "$pid"; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
		wait "$pid" 2>/dev/null || true
	done
	if ((rc != 0 && IT_DONE == 0)); then
		it_log "FAIL (exit $rc at line ${BASH_LINENO[0]:-?})"
		it_dump_logs
	fi
	exit "$rc"
}

# it_init NAME: checks the binaries, makes a fresh work dir, installs the cleanup trap.
it_init() {
	IT_NAME=$1
	WORK=$IT_BUILD/it/$IT_NAME
	rm -rf "$WORK"
	mkdir -p "$WORK"
	trap it_cleanup EXIT
	trap 'exit 130' INT TERM
	local b
	for b in "$IT_IAP" "$IT_MED" "$IT_COL" "$IT_MKPCAP" "$IT_PCAPCMP"; do
		[[ -x $b ]] || it_fail "$b is not built"
	done
	[[ -x $IT_MKPKI ]] || it_fail "$IT_MKPKI missing"
	it_log "work dir $WORK (sanitizers: ${LAWTAP_SANITIZE:-OFF})"
}

it_need() { # it_need CMD...: fail when a command is missing
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || it_fail "needs $c (scripts/deps.sh test)"
	done
}

it_pki() { # it_pki DIR [mkpki args]
	local dir=$1
	shift
	"$IT_MKPKI" "$dir" "$@" >"$WORK/mkpki.out" 2>&1 || {
		cat "$WORK/mkpki.out" >&2
		it_fail "mkpki $dir $* failed"
	}
}

# A candidate port below the kernel's ephemeral range (clients' source ports never take it).
it_port_pick() {
	local lo hi
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
	((lo > 11000)) || lo=32768
	echo $((10000 + (RANDOM * 32768 + RANDOM) % (lo - 10000)))
}

# it_port VAR: sets VAR to a TCP port nobody listens on (127.0.0.1), not handed out before in
# this test (not in a subshell: the used-port set lives in this shell).
it_port() {
	local p i used
	used=$(ss -Htan 2>/dev/null | awk '{n=split($4,a,":"); print a[n]}' | sort -u | tr '\n' ' ')
	for ((i = 0; i < 500; i++)); do
		p=$(it_port_pick)
		[[ -z ${IT_PORTS_USED[$p]:-} ]] || continue
		[[ " $used " != *" $p "* ]] || continue
		# bash can connect: something listens there
		if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			continue
		fi
		IT_PORTS_USED[$p]=1
		printf -v "$1" %s "$p"
		return 0
	done
	it_fail "no free port found"
}

it_listening() { # PORT -> 0 when something listens on it
	[[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]
}

# it_wait_port NAME PORT [SECONDS]: waits until PORT listens, failing early if NAME died.
it_wait_port() {
	local name=$1 port=$2 secs=${3:-20} i
	local pid=${IT_PID[$name]:-}
	for ((i = 0; i < secs * IT_SLOW * 20; i++)); do
		it_listening "$port" && return 0
		if [[ -n $pid ]] && ! it_alive "$pid"; then
			wait "$pid" 2>/dev/null && IT_RC=0 || IT_RC=$?
			it_fail "$name exited (status $IT_RC) before listening on $port"
		fi
		sleep 0.05
	done
	it_fail "$name does not listen on port $port after ${secs}s"
}

# it_wait_for DESCRIPTION SECONDS CMD...: polls CMD every 0.1 s until it succeeds.
it_wait_for() {
	local what=$1 secs=$2 i
	shift 2
	for ((i = 0; i < secs * IT_SLOW * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	it_fail "timed out after ${secs}s waiting for $what"
}

# it_start NAME CMD...: starts CMD in the background, stdout NAME.out, stderr NAME.log.
it_start() {
	local name=$1
	shift
	"$@" >"$WORK/$name.out" 2>"$WORK/$name.log" &
	IT_PID[$name]=$!
}

# it_stop NAME [SECONDS]: SIGTERM and a bounded wait; IT_RC gets the exit status. Fails when
# the process does not stop in time or a sanitizer reported something.
it_stop() {
	local name=$1 secs=${2:-30} pid i
	pid=${IT_PID[$name]:?it_stop: $1 was not started}
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < secs * IT_SLOW * 10; i++)); do
		it_alive "$pid" || break
		sleep 0.1
	done
	if it_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		unset "IT_PID[$name]"
		it_fail "$name did not stop within ${secs}s of SIGTERM"
	fi
	IT_RC=0
	wait "$pid" 2>/dev/null || IT_RC=$?
	unset "IT_PID[$name]"
	it_check_sanitizer "$name"
}

# it_wait_exit NAME [SECONDS]: waits for a background process to end by itself; IT_RC.
it_wait_exit() {
	local name=$1 secs=${2:-60} pid i
	pid=${IT_PID[$name]:?it_wait_exit: $1 was not started}
	for ((i = 0; i < secs * IT_SLOW * 10; i++)); do
		it_alive "$pid" || break
		sleep 0.1
	done
	it_alive "$pid" && it_fail "$name still running after ${secs}s"
	IT_RC=0
	wait "$pid" 2>/dev/null || IT_RC=$?
	unset "IT_PID[$name]"
	it_check_sanitizer "$name"
}

it_check_sanitizer() { # NAME: fails on an ASan/UBSan/LSan report in its logs
	local f
	for f in "$WORK/$1.log" "$WORK/$1.out"; do
		[[ -f $f ]] || continue
		if grep -qE 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:' "$f"; then
			it_fail "$1: sanitizer report in ${f##*/}"
		fi
	done
}

it_expect_running() { # NAME: fails when NAME is no longer running
	local pid=${IT_PID[$1]:?}
	it_alive "$pid" || it_fail "$1 is no longer running"
}

# it_grep_log FILE ERE WHAT: fails unless FILE has a line matching ERE (case-insensitive).
it_grep_log() {
	grep -qiE -- "$2" "$1" || it_fail "$3: no line matching /$2/ in ${1##*/}"
}

# it_wait_log FILE ERE WHAT [SECONDS]: waits until FILE has a line matching ERE.
it_wait_log() {
	local f=$1 re=$2 what=$3 secs=${4:-15}
	it_wait_for "$what (/$re/ in ${f##*/})" "$secs" grep -qiE -- "$re" "$f"
}

# it_mediator_conf FILE --pki DIR --x2x3 P --tasking P --hi2 P --hi3 P [--mode M]
#   [--target A]... [--liid L] [--state DIR] [--drain S] [--country CC] [--timestamp T]
#   [--lea ID] [--warrant-lea ID] [--pki-lea-side] : writes a mediator config (YAML).
it_mediator_conf() {
	local file=$1
	shift
	local pki="" x2x3="" tasking="" hi2="" hi3="" mode=full liid=LIID-0001 state=""
	local drain=20 country=NL ts=microseconds lea=lea1 wlea="" targets=()
	while (($#)); do
		case $1 in
		--pki) pki=$2 ;;
		--x2x3) x2x3=$2 ;;
		--tasking) tasking=$2 ;;
		--hi2) hi2=$2 ;;
		--hi3) hi3=$2 ;;
		--mode) mode=$2 ;;
		--target) targets+=("$2") ;;
		--liid) liid=$2 ;;
		--state) state=$2 ;;
		--drain) drain=$2 ;;
		--country) country=$2 ;;
		--timestamp) ts=$2 ;;
		--lea) lea=$2 ;;
		--warrant-lea) wlea=$2 ;;
		*) it_fail "it_mediator_conf: unknown option $1" ;;
		esac
		shift 2
	done
	[[ -n $pki && -n $x2x3 && -n $tasking && -n $hi2 && -n $hi3 ]] ||
		it_fail "it_mediator_conf: --pki --x2x3 --tasking --hi2 --hi3 are required"
	((${#targets[@]})) || it_fail "it_mediator_conf: at least one --target"
	state=${state:-$(dirname "$file")/state}
	mkdir -p "$state"
	local tl
	tl=$(printf '"%s", ' "${targets[@]}")
	tl=${tl%, }
	cat >"$file" <<EOF
# written by tests/integration/lib/common.sh
mediator:
  x2x3_listen: 127.0.0.1:$x2x3
  tasking_listen: 127.0.0.1:$tasking
  operator_id: lawtap-op
  network_element_id: med1
  state_dir: $state
  drain_timeout: $drain
  tls: { ca: $pki/ca.pem, cert: $pki/mediator.pem, key: $pki/mediator.key }
leas:
  - id: $lea
    country: $country
    hi2: 127.0.0.1:$hi2
    hi3: 127.0.0.1:$hi3
    timestamp: $ts
    keepalive_idle: 300
    keepalive_timeout: 30
    keepalive_liid: "-"
    reconnect_max: 2
warrants:
  - liid: $liid
    country: $country
    lea: ${wlea:-$lea}
    target_name: alice
    targets: [$tl]
    mode: $mode
    start: 2026-01-01T00:00:00Z
    end: 2036-01-01T00:00:00Z
EOF
}

# it_start_collector NAME PKI HI2 HI3 OUTDIR [extra args]
it_start_collector() {
	local name=$1 pki=$2 hi2=$3 hi3=$4 out=$5
	shift 5
	mkdir -p "$out"
	it_start "$name" "$IT_COL" --hi2 "127.0.0.1:$hi2" --hi3 "127.0.0.1:$hi3" \
		--ca "$pki/ca.pem" --cert "$pki/lea.pem" --key "$pki/lea.key" --out "$out" "$@"
	it_wait_port "$name" "$hi2"
	it_wait_port "$name" "$hi3"
}

# it_start_mediator NAME CONF XPORT TPORT [extra args]
it_start_mediator() {
	local name=$1 conf=$2 xp=$3 tp=$4
	shift 4
	it_start "$name" "$IT_MED" -c "$conf" "$@"
	it_wait_port "$name" "$xp"
	it_wait_port "$name" "$tp"
}

# it_run_iap NAME PKI PCAP XPORT TPORT [extra args]: runs the IAP over a file to its end
# (bounded); IT_RC gets its status, WORK/NAME.stats its statistics line.
it_run_iap() {
	local name=$1 pki=$2 pcap=$3 xp=$4 tp=$5
	shift 5
	IT_RC=0
	timeout -k 5 $((120 * IT_SLOW)) "$IT_IAP" -r "$pcap" --mediator "127.0.0.1:$xp" \
		--tasking "127.0.0.1:$tp" --ca "$pki/ca.pem" --cert "$pki/iap.pem" \
		--key "$pki/iap.key" --stats "$WORK/$name.stats" "$@" \
		>"$WORK/$name.out" 2>"$WORK/$name.log" || IT_RC=$?
	((IT_RC != 124 && IT_RC != 137)) || it_fail "$name did not finish in time"
	it_check_sanitizer "$name"
}

# it_kv FILE KEY: value of KEY in the last "k=v k=v ..." line of FILE holding KEY=.
it_kv() {
	local v
	v=$(grep -oE "(^|[[:space:]])$2=[^[:space:]]*" "$1" 2>/dev/null | tail -n 1) || true
	v=${v#*=}
	[[ -n $v ]] || it_fail "no $2= in ${1##*/}"
	echo "$v"
}

# it_summary_total OUTDIR KEY: KEY on the collector summary's "total" line.
it_summary_total() {
	local f=$1/summary.txt v
	[[ -f $f ]] || it_fail "no ${f#"$WORK"/}"
	v=$(grep -E '^total ' "$f" | tail -n 1 | grep -oE "(^| )$2=[0-9]+" | head -n 1) || true
	v=${v#*=}
	[[ -n $v ]] || it_fail "no $2= on the total line of $f"
	echo "$v"
}

# it_check_summary OUTDIR: 0 gaps, duplicates and decode errors in the collector's summary,
# on the total line and every per-LIID line.
it_check_summary() {
	local out=$1 k v
	for k in gaps duplicates decode_errors; do
		v=$(it_summary_total "$out" "$k")
		[[ $v == 0 ]] || it_fail "collector summary: $k=$v ($out/summary.txt)"
	done
	if grep -E '^liid=' "$out/summary.txt" | grep -qvE ' gaps=0 duplicates=0( |$)'; then
		it_fail "collector summary has a LIID line with gaps or duplicates"
	fi
}

it_etsi_check() { # it_etsi_check [args] FILES: etsi-check, output in WORK/etsi-check.out
	[[ -x $IT_ETSI ]] || it_fail "etsi-check not found at $IT_ETSI"
	if ! "$IT_ETSI" "$@" >"$WORK/etsi-check.out" 2>&1; then
		tail -n 20 "$WORK/etsi-check.out" >&2
		it_fail "etsi-check $* failed"
	fi
}

# it_pipeline TAG PKI PCAP MODE TARGETS... : one full run (collector, mediator, IAP over PCAP,
# mediator and collector stopped). Outputs in WORK/TAG/out; IAP stats in WORK/TAG-iap.stats.
# Extra IAP arguments in the array IT_IAP_ARGS (may be empty).
it_pipeline() {
	local tag=$1 pki=$2 pcap=$3 mode=$4
	shift 4
	local d=$WORK/$tag targs=() t
	mkdir -p "$d/out"
	for t in "$@"; do targs+=(--target "$t"); done
	it_port IT_HI2
	it_port IT_HI3
	it_port IT_XP
	it_port IT_TP
	it_mediator_conf "$d/mediator.yaml" --pki "$pki" --x2x3 "$IT_XP" --tasking "$IT_TP" \
		--hi2 "$IT_HI2" --hi3 "$IT_HI3" --mode "$mode" --state "$d/state" "${targs[@]}"
	it_start_collector "$tag-col" "$pki" "$IT_HI2" "$IT_HI3" "$d/out"
	it_start_mediator "$tag-med" "$d/mediator.yaml" "$IT_XP" "$IT_TP"
	it_run_iap "$tag-iap" "$pki" "$pcap" "$IT_XP" "$IT_TP" ${IT_IAP_ARGS[@]+"${IT_IAP_ARGS[@]}"}
	[[ $IT_RC == 0 ]] || it_fail "$tag: lawtap-iap exited $IT_RC"
	it_stop "$tag-med" 60
	[[ $IT_RC == 0 ]] || it_fail "$tag: lawtap-mediator exited $IT_RC after SIGTERM"
	it_stop "$tag-col" 30
	[[ $IT_RC == 0 ]] || it_fail "$tag: lawtap-collector exited $IT_RC after SIGTERM"
}

# it_capture_start NAME PORT FILE: dumpcap on lo for "tcp port PORT" into FILE (pcapng); returns
# once dumpcap says it is capturing and the file has its header.
it_capture_start() {
	local name=$1 port=$2 file=$3
	it_need dumpcap tshark
	it_start "$name" dumpcap -q -i lo -f "tcp port $port" -w "$file"
	it_wait_for "dumpcap to start capturing" 20 it_capture_ready "$name" "$file"
}

it_capture_ready() {
	it_expect_running "$1"
	grep -q "Capturing on" "$WORK/$1.log" 2>/dev/null && [[ -s $2 ]]
}

# it_capture_has_end FILE PORT: the capture holds the client's FIN or RST towards PORT.
it_capture_has_end() {
	local n
	n=$(tshark -r "$1" -Y "tcp.dstport == $2 && (tcp.flags.fin == 1 || tcp.flags.reset == 1)" \
		2>/dev/null | wc -l) || true
	((n > 0))
}

# it_capture_stop NAME FILE PORT: waits until the capture holds the end of the client's
# connection to PORT (so nothing before it is still in flight), then stops dumpcap.
it_capture_stop() {
	local name=$1 file=$2 port=$3
	it_wait_for "the capture to hold the end of the connection to port $port" 20 \
		it_capture_has_end "$file" "$port"
	it_stop "$name" 20
}

# it_x2x3_types CAP PORT KEYS DIR: prints the li5g.type of every X2/X3 PDU in CAP that went
# towards (DIR=to) or from (DIR=from) PORT, one per line, decrypted with the key log KEYS,
# as standards.md shows (../shared/tools/x2x3.lua).
it_x2x3_types() {
	local cap=$1 port=$2 keys=$3 dir=$4 f
	[[ $dir == to ]] && f="tcp.dstport == $port" || f="tcp.srcport == $port"
	tshark -r "$cap" -X lua_script:"$IT_X2X3_LUA" -X lua_script1:"$port" \
		-o tls.keylog_file:"$keys" -d tcp.port=="$port",tls -Y "5gli && $f" \
		-T fields -e li5g.type -E occurrence=a -E aggregator=, 2>"$WORK/tshark.err" |
		tr ',' '\n' | sed '/^$/d'
}

# it_x2x3_malformed CAP PORT KEYS: number of malformed frames in the decrypted capture.
it_x2x3_malformed() {
	tshark -r "$1" -X lua_script:"$IT_X2X3_LUA" -X lua_script1:"$2" -o tls.keylog_file:"$3" \
		-d tcp.port=="$2",tls -Y '_ws.malformed || _ws.expert.group == "Malformed"' \
		2>/dev/null | wc -l
}

# it_iri_rows IRI_CSV: "src,dst,sport,dport,proto" of every row of the collector's iri.csv that
# reports a packet (src set), columns found by the header; protocol names (tcp, udp, icmp,
# ipv6-icmp/icmpv6) become their numbers. Ports stay as written (empty for ICMP).
it_iri_rows() {
	awk -F, '
	NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
	{
		s = $col["src"]; if (s == "") next
		sp = $col["sport"]; dp = $col["dport"]; p = tolower($col["proto"])
		if (p == "tcp") p = 6; else if (p == "udp") p = 17; else if (p == "icmp") p = 1
		else if (p == "icmpv6" || p == "ipv6-icmp") p = 58
		print s "," $col["dst"] "," sp "," dp "," p
	}' "$1"
}

# it_sclient NAME PORT [CERT KEY]: one TLS client (openssl s_client) to 127.0.0.1:PORT that
# trusts the test CA ($IT_CA), presents CERT/KEY when given, sends stdin (default nothing)
# and ends. Output in WORK/NAME.out; never fails by itself (refusals are what tests look for).
it_sclient() {
	local name=$1 port=$2 cert=${3:-} key=${4:-} args=()
	[[ -z $cert ]] || args=(-cert "$cert" -key "$key")
	timeout -k 2 $((15 * IT_SLOW)) openssl s_client -connect "127.0.0.1:$port" \
		-CAfile "${IT_CA:?set IT_CA}" -verify_return_error -quiet -no_ign_eof \
		"${args[@]}" >"$WORK/$name.out" 2>&1 || true
}

# it_count_lines FILE ERE: number of lines of FILE matching ERE (case-insensitive).
it_count_lines() {
	local n
	n=$(grep -ciE -- "$2" "$1" 2>/dev/null) || true
	echo "${n:-0}"
}

# it_wait_more FILE ERE N WHAT [SECONDS]: waits until FILE has more than N lines matching ERE.
it_wait_more() {
	local f=$1 re=$2 n=$3 what=$4 secs=${5:-15}
	it_wait_for "$what (/$re/ in ${f##*/})" "$secs" it_more "$f" "$re" "$n"
}
it_more() { (($(it_count_lines "$1" "$2") > $3)); }

# it_cc_directions HI3_BER: the payloadDirection of every CC record, in file order, as
# lawtap-collector --decode --json reports it (toTarget, fromTarget, ...).
it_cc_directions() {
	"$IT_COL" --decode "$1" --json 2>"$WORK/decode.err" |
		grep '"kind":"cc"' | grep -oE '"direction":"[A-Za-z]*"' | sed 's/.*:"//; s/"$//'
}
