#!/usr/bin/env bash
# libfilter-milter end to end:
#   1. `make install` libfilter into a temporary prefix, build
#      bindings/milter against it through pkg-config (-Wall -Wextra -Werror);
#   2. miltertest(8) scripts (bindings/milter/tests/*.lua) against the
#      milter on a unix socket: clean, EICAR, GTUBE, several messages on one
#      connection, abort, forged headers, reject_score/quarantine_score,
#      the throttle (a client connecting too often is tempfailed, a
#      zombie is tempfailed at MAIL FROM), and a SIGHUP reload in the
#      middle of an open connection;
#   3. a real Postfix in a throw-away directory (its own config_directory,
#      queue and data directories, listening on 127.0.0.1 on a free port,
#      delivering to a virtual Maildir) with smtpd_milters pointing at the
#      milter on a loopback port; swaks sends a clean message (delivered
#      with X-Spam-Status and X-Virus-Scanned), EICAR (550 5.7.1, not
#      delivered), GTUBE (delivered with X-Spam-Flag: YES); then SIGHUP
#      reloads with a new database (its signature is then found), a broken
#      database (reload fails, the old engine stays) and a clean message
#      after each reload.
# Prints the SMTP dialogue of every swaks run. Exits non-zero on any failure.
#
# Needs root when packages are missing (apt-get: libmilter-dev miltertest
# postfix swaks pkg-config gcc make) and to run Postfix. Never touches the
# system's Postfix instance: everything runs with `postfix -c DIR`, and the
# EXIT trap stops it and the milters.
#
# Environment: CARGO_TARGET_DIR (honoured by the Makefile), KEEP=1 keeps the
# temporary directory.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
t_start=$(date +%s)

step() { echo; echo "=== milter-tests: $*"; }
failed=()
passed=0
fail() { echo "FAIL $*"; failed+=("$1"); }
ok() { echo "ok   $*"; passed=$((passed + 1)); }

step "tools"
missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
[ -f /usr/include/libmilter/mfapi.h ] || missing+=(libmilter-dev)
command -v miltertest >/dev/null 2>&1 || missing+=(miltertest)
command -v swaks >/dev/null 2>&1 || missing+=(swaks)
[ -x /usr/sbin/postfix ] || missing+=(postfix)
command -v base64 >/dev/null 2>&1 || missing+=(coreutils)
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
command -v script >/dev/null 2>&1 || missing+=(bsdutils)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if [[ " ${missing[*]} " == *" postfix "* ]]; then
        # No questions, no system configuration: we only use `postfix -c`.
        echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
        echo "postfix postfix/mailname string localhost" | debconf-set-selections
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
cc --version | head -n 1
echo "postfix $(postconf -d -h mail_version 2>/dev/null), $(miltertest -V 2>&1 | head -n 1), swaks $(swaks --version 2>&1 | head -n 1 | awk '{print $NF}')"

work=$(mktemp -d /tmp/milter-tests.XXXXXX)
chmod 0755 "$work" # the virtual delivery agent (uid nobody) walks through it
pids=()
pf=$work/postfix
cleanup() {
    local rc=$?
    if [ -f "$pf/etc/main.cf" ]; then
        postfix -c "$pf/etc" stop >/dev/null 2>&1 || true
    fi
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${pids[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
    exit $rc
}
trap cleanup EXIT

step "make install PREFIX=$work/prefix"
prefix=$work/prefix
make --no-print-directory install PREFIX="$prefix" | tail -n 3
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
export LD_LIBRARY_PATH=$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

step "build bindings/milter"
make --no-print-directory -C bindings/milter BUILDDIR="$work" CFLAGS="-O2 -g"
milter=$work/libfilter-milter
"$milter" -V
# A test build whose X-Libfilter-Test-Fault header field makes a libfilter
# call fail, for the on_error policy (fault.lua).
mkdir -p "$work/fault"
make --no-print-directory -C bindings/milter BUILDDIR="$work/fault" CFLAGS="-O2 -g" \
    CPPFLAGS=-DLF_MILTER_FAULT_INJECTION
ldd "$milter" | grep -E 'libfilter|libmilter'

# The test strings, from pieces: no file holds either whole.
eicar=$(printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$' 'EICAR-STANDARD-' 'ANTIVIRUS-TEST-FILE!$H+H*')
gtube=$(printf '%s' 'XJS*C4JDBQADN1.NSBN3*2IDNEN*' 'GTUBE-STANDARD-' 'ANTI-UBE-TEST-EMAIL*C.34X')

# A free TCP port on the loopback: nothing answers a connect.
free_port() {
    local p
    for _ in $(seq 50); do
        p=$(( 20000 + RANDOM % 40000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"; return 0
        fi
    done
    return 1
}

# wait_for WHAT SECONDS COMMAND...: polls COMMAND every 0.1 s.
wait_for() {
    local what=$1 secs=$2; shift 2
    local i
    for (( i = 0; i < secs * 10; i++ )); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    echo "timed out waiting for $what"
    return 1
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_milter NAME SOCKET ARGS...: runs the milter in the foreground,
# logging to $work/NAME.log; waits until it listens.
mt_pid='' vg_pid='' pfm_pid='' # set by start_milter (so are mt2_pid, fault_*_pid)
# MILTER (the binary) and WRAP (a command in front, e.g. valgrind) may be
# set for one call; STARTUP is how long to wait (seconds).
start_milter() {
    local name=$1 sock=$2; shift 2
    # shellcheck disable=SC2086
    ${WRAP:-} "${MILTER:-$milter}" -f -l stderr -p "$sock" "$@" >"$work/$name.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    printf -v "${name}_pid" '%s' "$pid" # NAME_pid, e.g. mt_pid
    case $sock in
        unix:*) wait_for "$name on $sock" "${STARTUP:-20}" test -S "${sock#unix:}" ;;
        inet:*) local p=${sock#inet:}; wait_for "$name on $sock" "${STARTUP:-20}" port_open "${p%@*}" ;;
    esac
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "milter $name died:"; cat "$work/$name.log"; return 1
    fi
}

step "miltertest (bindings/milter/tests)"
tests=$root/bindings/milter/tests
sock=$work/milter.sock
start_milter mt "unix:$sock" -c /dev/null -d
run_lua() {
    local name=$1 socket=$2 out rc=0
    shift 2
    out=$(timeout 120 miltertest -D "SOCKET=$socket" -D "TESTDIR=$tests" "$@" -s "$tests/$name.lua" 2>&1) || rc=$?
    if [ "$rc" = 0 ]; then
        ok "$name.lua: ${out##*ok   }"
    else
        fail "$name.lua (exit $rc)"
        echo "$out" | sed 's/^/     /'
    fi
}
for t in clean eicar gtube multi abort forged; do
    run_lua "$t" "unix:$sock"
done

# reload.lua keeps one connection open across a SIGHUP: the connection
# goes on (on its old engine), and the milter reloads.
scanned=$(grep -c 'TESTQID: ' "$work/mt.log" || true)
timeout 120 miltertest -D "SOCKET=unix:$sock" -D "TESTDIR=$tests" -s "$tests/reload.lua" \
    >"$work/reload-lua.out" 2>&1 &
lua_pid=$!
# The script's first message is scanned, then it sleeps 4 s: reload then.
wait_for "first message of reload.lua" 20 bash -c "[ \$(grep -c 'TESTQID: ' '$work/mt.log') -gt $scanned ]" || true
kill -HUP "$mt_pid"
rc=0; wait "$lua_pid" || rc=$?
# The messages after the reload on that connection used its old engine.
old_engine=$(awk '/reload succeeded: engine generation 2/ {r = 1} r && /TESTQID: .* engine=1 / {n++} END {print n + 0}' "$work/mt.log")
if [ "$rc" = 0 ] && grep -q 'reload succeeded: engine generation 2' "$work/mt.log" && [ "$old_engine" -ge 3 ]; then
    ok "reload.lua: SIGHUP during an open connection: $(tail -n 1 "$work/reload-lua.out" | sed 's/^ok   //'); $old_engine messages after the reload on the old engine"
    grep -E 'reload' "$work/mt.log" | sed 's/^/     log: /'
else
    fail "reload.lua (exit $rc)"; sed 's/^/     /' "$work/reload-lua.out"; tail -n 20 "$work/mt.log"
fi
# A burst of SIGHUPs: coalesced, never stops the milter (libmilter's own
# signal thread would stop it on a SIGHUP it received).
reloads=$(grep -c 'reload succeeded' "$work/mt.log" || true)
for _ in $(seq 10); do kill -HUP "$mt_pid"; done
sleep 1
if kill -0 "$mt_pid" 2>/dev/null; then
    wait_for "reloads after the burst" 30 bash -c "[ \$(grep -c 'reload succeeded' '$work/mt.log') -gt $reloads ]" || true
    run_lua clean "unix:$sock"
    ok "burst of 10 SIGHUPs: milter alive, $(grep -c 'reload succeeded' "$work/mt.log") reloads in all"
else
    fail "sighup-burst: the milter stopped"; tail -n 20 "$work/mt.log"
fi
# Options: reject_score and quarantine_score, on a second instance.
sock2=$work/milter2.sock
start_milter mt2 "unix:$sock2" -c /dev/null -o reject_score=20 -o quarantine_score=0 \
    -o max_message_size=8K
run_lua options "unix:$sock2"
# stop_milter NAME: SIGTERM, then its exit status must be 0 (libmilter
# notices the stop within a few seconds).
stop_milter() {
    local name=$1 pid rc=0
    eval "pid=\$${name}_pid"
    kill -TERM "$pid"
    for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        fail "$name: still running 60 s after SIGTERM"; return
    fi
    wait "$pid" || rc=$?
    if [ "$rc" = 0 ]; then
        ok "$name: SIGTERM, clean stop (exit 0)"
    else
        fail "$name: exit $rc after SIGTERM"; tail -n 40 "$work/$name.log" | sed 's/^/     /'
    fi
}
stop_milter mt2

# The throttle (throttle.lua): three connections and two messages a window
# per client; a client that connects too often is tempfailed, a zombie
# (all spam) is tempfailed at MAIL FROM, clean mail is only delayed.
start_milter mt3 "unix:$work/milter3.sock" -c /dev/null -o throttle=yes \
    -o throttle_host=3/2/0/0 -o throttle_net=0/0/0/0 -o throttle_delay=50 \
    -o throttle_tempfail=200 -o throttle_zombie=80 \
    -o "throttle_exempt=198.51.100.0/24 2001:db8::/32"
run_lua throttle "unix:$work/milter3.sock"
if grep -q 'throttle: connect from \[192.0.2.55\]: tempfail' "$work/mt3.log" &&
    grep -q 'throttle: connect from \[192.0.2.55\]: delay 100 ms' "$work/mt3.log" &&
    grep -q 'throttle: mail from <zombie@example.net> \[203.0.113.66\]: tempfail' "$work/mt3.log" &&
    ! grep -q 'throttle: .*\[198.51.100.30\]' "$work/mt3.log" &&
    ! grep -q 'throttle: mail from .*\[203.0.113.25\]' "$work/mt3.log"; then
    ok "throttle: logged $(grep -c 'throttle:' "$work/mt3.log") throttle decisions"
    grep 'throttle:' "$work/mt3.log" | sed 's/^/     log: /' | head -n 12
else
    fail "throttle: the decisions were not logged as expected"; grep 'throttle' "$work/mt3.log" | sed 's/^/     /'
fi
# A bad throttle setting is refused at start (-t).
for bad in throttle_exempt=192.0.2.0/33 throttle_exempt=not-an-address "throttle_exempt=::1/129"; do
    if out=$("$milter" -t -c /dev/null -o throttle=yes -o "$bad" -o log=stderr 2>&1); then
        fail "$bad: -t succeeded"; echo "$out"
    else
        ok "$bad: refused"
    fi
done
if out=$("$milter" -t -c /dev/null -o throttle=yes -o throttle_buckets=0 -o log=stderr 2>&1); then
    fail "throttle_buckets=0: -t succeeded"; echo "$out"
else
    ok "throttle_buckets=0: refused ($(echo "$out" | grep -o 'throttle: .*' | head -n 1))"
fi
stop_milter mt3

# on_error: the fault-injection build, once per policy.
for policy in tempfail accept reject; do
    MILTER=$work/fault/libfilter-milter start_milter "fault_$policy" "unix:$work/fault-$policy.sock" \
        -c /dev/null -o "on_error=$policy"
    run_lua fault "unix:$work/fault-$policy.sock" -D "EXPECT=$policy"
    grep -q "lf_session_finish failed: .*on_error=$policy" "$work/fault_$policy.log" ||
        fail "fault-$policy: the failure was not logged"
    kill "$(eval echo "\$fault_${policy}_pid")"
done

step "valgrind: the milter under memcheck, miltertest scripts, a reload, SIGTERM"
# Reload with SIGUSR1 here: under valgrind, which thread receives a
# process-directed SIGHUP is valgrind's choice, not the kernel's.
WRAP="valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite -q" STARTUP=180 \
    start_milter vg "unix:$work/vg.sock" -c /dev/null
for t in clean eicar gtube multi abort forged; do
    run_lua "$t" "unix:$work/vg.sock"
done
kill -USR1 "$vg_pid"
if wait_for "reload under valgrind" 180 grep -q 'reload succeeded' "$work/vg.log"; then
    run_lua clean "unix:$work/vg.sock"
    ok "valgrind: reload (SIGUSR1) succeeded"
else
    fail "valgrind-reload"
fi
stop_milter vg

step "bayes: a store learned by filterscan, loaded by the milter"
# filterscan is built by `cargo test --workspace --release`; build it if not.
fs=${CARGO_TARGET_DIR:-$root/target}/release/filterscan
[ -x "$fs" ] || cargo build --release -q -p filterscan
mkdir -p "$work/bayes/spam" "$work/bayes/ham"
printf 'Subject: cheap pills\n\nbuy cheap pills online now\n' >"$work/bayes/spam/1.eml"
printf 'Subject: meeting notes\n\nnotes from the monday meeting\n' >"$work/bayes/ham/1.eml"
"$fs" learn --db "$work/bayes/store.db" --spam "$work/bayes/spam" >/dev/null
"$fs" learn --db "$work/bayes/store.db" --ham "$work/bayes/ham" >/dev/null
if out=$("$milter" -t -o "bayes=$work/bayes/store.db" -o log=stderr 2>&1) \
    && echo "$out" | grep -q "bayes $work/bayes/store.db"; then
    ok "bayes = store: the engine builds with it"
else
    fail "bayes = store"; echo "$out"
fi
if out=$("$milter" -t -o "bayes=$work/bayes/missing.db" -o log=stderr 2>&1); then
    fail "bayes = missing store: -t succeeded"; echo "$out"
else
    ok "bayes = missing store: refused ($(echo "$out" | grep -o 'bayes [^:]*: [^(]*' | head -n 1))"
fi

step "Postfix (postfix -c $pf/etc) with the milter on a loopback port"
mport=$(free_port)
sport=$(free_port)
while [ "$sport" = "$mport" ]; do sport=$(free_port); done
db=$work/db
mkdir -p "$db" "$pf/etc" "$work/mail"
cat >"$work/milter.conf" <<EOF
# written by scripts/milter-tests.sh
socket = inet:$mport@127.0.0.1
database = $db
strict = yes
on_error = tempfail
log = stderr
# Drop root once the socket is open: reloads read $db as this user.
user = nobody
EOF
if out=$("$milter" -t -c "$work/milter.conf" 2>&1); then
    ok "libfilter-milter -t: $(echo "$out" | grep 'configuration OK')"
else
    fail "milter -t"; echo "$out"
fi
start_milter pfm "inet:$mport@127.0.0.1" -c "$work/milter.conf"
# The milter drops root just after it opens the socket, which is what
# start_milter waits for: give it a moment to get there.
for _ in $(seq 50); do
    pfm_uid=$(awk '/^Uid:/ {print $2}' "/proc/$pfm_pid/status")
    [ "$pfm_uid" = "$(id -u nobody)" ] && break
    sleep 0.1
done
if [ "$pfm_uid" = "$(id -u nobody)" ]; then ok "the milter runs as nobody (user = nobody)"; else fail "user: running as uid $pfm_uid"; fi
echo "milter: inet:$mport@127.0.0.1 (libmilter's syntax) = inet:127.0.0.1:$mport (Postfix's)"

vuid=$(id -u nobody)
vgid=$(id -g nobody)
chown "$vuid:$vgid" "$work/mail"
printf 'bob@example.com bob/\ncarol@example.com carol/\n' >"$pf/etc/vmailbox"
cat >"$pf/etc/main.cf" <<EOF
# A throw-away Postfix for scripts/milter-tests.sh.
compatibility_level = 3.6
queue_directory = $pf/spool
data_directory = $pf/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.example.com
mydomain = example.com
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
alias_maps =
alias_database =
local_recipient_maps =
relayhost =
biff = no
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
maillog_file_prefixes = $pf
maillog_file = $pf/maillog
virtual_mailbox_domains = example.com
virtual_mailbox_base = $work/mail
virtual_mailbox_maps = texthash:$pf/etc/vmailbox
virtual_uid_maps = static:$vuid
virtual_gid_maps = static:$vgid
virtual_minimum_uid = 1
# The milter: Postfix's socket syntax.
smtpd_milters = inet:127.0.0.1:$mport
non_smtpd_milters =
milter_default_action = tempfail
milter_protocol = 6
EOF
# Only the services needed; chroot off everywhere (column 5 = n).
cat >"$pf/etc/master.cf" <<EOF
127.0.0.1:$sport inet n - n - - smtpd
pickup    unix n - n 60  1 pickup
cleanup   unix n - n -   0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n -   - trivial-rewrite
bounce    unix - - n -   0 bounce
defer     unix - - n -   0 bounce
trace     unix - - n -   0 bounce
verify    unix - - n -   1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n -   - proxymap
showq     unix n - n -   - showq
error     unix - - n -   - error
retry     unix - - n -   - error
discard   unix - - n -   - discard
virtual   unix - n n -   - virtual
anvil     unix - - n -   1 anvil
scache    unix - - n -   1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
mkdir -p "$pf/spool" "$pf/data"
chown postfix "$pf/data" # data_directory belongs to mail_owner
# postfix(1) writes its errors only to syslog unless stderr is a terminal:
# give it one with script(1), so that a failure says why.
pfx() { script -qec "postfix -c '$pf/etc' $*" /dev/null; }
pfx check || { echo "FAIL: postfix check"; exit 1; }
pfx start || { echo "FAIL: postfix start"; exit 1; }
wait_for "Postfix on 127.0.0.1:$sport" 30 port_open "$sport" || { cat "$pf/maillog" 2>/dev/null; exit 1; }
echo "postfix: 127.0.0.1:$sport, queue $pf/spool, Maildir $work/mail/bob"

maildir=$work/mail/bob
delivered() { if [ -d "$maildir/new" ]; then find "$maildir/new" -type f | wc -l; else echo 0; fi; }

# swaks_send NAME DATAFILE: one SMTP transaction; the dialogue is printed.
swaks_send() {
    local name=$1 data=$2 rc=0
    swaks --server 127.0.0.1 --port "$sport" --helo client.example.net \
        --from alice@example.net --to bob@example.com --data "@$data" \
        --timeout 60 >"$work/$name.swaks" 2>&1 || rc=$?
    echo "--- swaks $name (exit $rc) ---"
    # The transcript, with the GTUBE string masked (it is for reading).
    awk -v g="$gtube" '{ i = index($0, g); if (i) $0 = substr($0, 1, i - 1) "<the GTUBE test string>" substr($0, i + length(g)); print }' \
        "$work/$name.swaks"
    echo "--- end $name ---"
}

# msg FILE SUBJECT BODY [ATTACHMENT_BASE64]: writes a message.
msg() {
    local file=$1 subject=$2 body=$3 attach=${4:-}
    {
        printf 'From: Alice Example <alice@example.net>\r\n'
        printf 'To: Bob Example <bob@example.com>\r\n'
        printf 'Subject: %s\r\n' "$subject"
        printf 'Date: %s\r\n' "$(date -R)"
        printf 'Message-ID: <%s.%s@example.net>\r\n' "$RANDOM$RANDOM" "${subject// /-}"
        printf 'MIME-Version: 1.0\r\n'
        if [ -z "$attach" ]; then
            printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\n'
            printf '%s\r\n' "$body"
        else
            printf 'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
            printf -- '--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n%s\r\n\r\n' "$body"
            printf -- '--b1\r\nContent-Type: application/octet-stream; name="invoice.com"\r\n'
            printf 'Content-Disposition: attachment; filename="invoice.com"\r\n'
            printf 'Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--b1--\r\n' "$attach"
        fi
    } >"$file"
}

clean_body=$'Hi Bob,\r\n\r\nhere are the minutes of the meeting on Tuesday. We agreed to move the\r\nrelease to the first week of December.\r\n\r\nThanks,\r\nAlice'

# expect_delivered NAME BEFORE: a new file appears in the Maildir; prints it.
newest() { ls -t "$maildir/new" | head -n 1; }
expect_delivered() {
    local name=$1 before=$2
    if wait_for "delivery of $name" 30 bash -c "[ \$(find '$maildir/new' -type f 2>/dev/null | wc -l) -gt $before ]"; then
        local f
        f=$maildir/new/$(newest)
        echo "$f"
        return 0
    fi
    return 1
}

# 1. A clean message.
msg "$work/clean.eml" "Minutes" "$clean_body"
before=$(delivered)
swaks_send clean "$work/clean.eml"
if grep -qE '^<- +250 2\.0\.0 Ok: queued' "$work/clean.swaks" && f=$(expect_delivered clean "$before"); then
    if grep -q '^X-Spam-Status: No' "$f" && grep -q '^X-Virus-Scanned: libfilter ' "$f" && ! grep -q '^X-Spam-Flag' "$f"; then
        ok "postfix clean: 250, delivered with X-Spam-Status: No and X-Virus-Scanned"
        grep -E '^(X-Spam-Status|X-Virus-Scanned):' "$f" | sed 's/^/     /'
    else
        fail "postfix-clean: headers missing"; sed -n '1,30p' "$f"
    fi
else
    fail "postfix-clean: not accepted or not delivered"; tail -n 20 "$pf/maillog"
fi

# 2. EICAR as a base64 attachment.
msg "$work/eicar.eml" "Invoice" "Please find the invoice attached." "$(printf '%s' "$eicar" | base64 | sed 's/$/\r/')"
before=$(delivered)
swaks_send eicar "$work/eicar.eml"
sleep 1
if grep -qE '^<\*\* +550 5\.7\.1 Virus found: Win\.Test\.EICAR_HDB-1' "$work/eicar.swaks" && [ "$(delivered)" = "$before" ]; then
    ok "postfix eicar: 550 5.7.1 Virus found: Win.Test.EICAR_HDB-1, nothing delivered"
else
    fail "postfix-eicar: want 550 5.7.1 with the name and no delivery ($(delivered) vs $before)"; tail -n 20 "$pf/maillog"
fi

# 3. GTUBE: delivered, flagged (reject_score is off in this configuration).
msg "$work/gtube.eml" "Cheap watches" "$(printf 'This is the GTUBE.\r\n\r\n%s\r\n' "$gtube")"
before=$(delivered)
swaks_send gtube "$work/gtube.eml"
if grep -qE '^<- +250 2\.0\.0 Ok: queued' "$work/gtube.swaks" && f=$(expect_delivered gtube "$before"); then
    if grep -q '^X-Spam-Flag: YES' "$f" && grep -q '^X-Spam-Status: Yes' "$f"; then
        ok "postfix gtube: 250, delivered with X-Spam-Flag: YES"
        grep -E '^X-Spam-(Flag|Status):' "$f" | sed 's/^/     /'
    else
        fail "postfix-gtube: not flagged"; sed -n '1,30p' "$f"
    fi
else
    fail "postfix-gtube: not accepted or not delivered"; tail -n 20 "$pf/maillog"
fi

# 4. SIGHUP with a new database: its signature is found afterwards.
marker="libfilter-milter reload marker $RANDOM$RANDOM"
hex=$(printf '%s' "$marker" | od -An -tx1 | tr -d ' \n')
printf 'Test.Milter.ReloadMarker:0:*:%s\n' "$hex" >"$db/reload.ndb"
reloads=$(grep -c 'reload succeeded' "$work/pfm.log" || true)
kill -HUP "$pfm_pid"
if wait_for "reload" 60 bash -c "[ \$(grep -c 'reload succeeded' '$work/pfm.log') -gt $reloads ]"; then
    ok "SIGHUP: $(grep 'reload succeeded' "$work/pfm.log" | tail -n 1 | sed 's/.*notice: //')"
else
    fail "reload-new-db: no 'reload succeeded' in the log"; tail -n 10 "$work/pfm.log"
fi
msg "$work/marker.eml" "Marker" "$marker"
before=$(delivered)
swaks_send marker "$work/marker.eml"
sleep 1
if grep -qE '^<\*\* +550 5\.7\.1 Virus found: Test\.Milter\.ReloadMarker' "$work/marker.swaks" && [ "$(delivered)" = "$before" ]; then
    ok "after reload: the new database's signature is found (550 5.7.1 Virus found: Test.Milter.ReloadMarker)"
else
    fail "reload-new-db: the new signature was not used"
fi
msg "$work/clean2.eml" "Minutes again" "$clean_body"
before=$(delivered)
swaks_send clean-after-reload "$work/clean2.eml"
if grep -qE '^<- +250 2\.0\.0 Ok: queued' "$work/clean-after-reload.swaks" && expect_delivered clean-after-reload "$before" >/dev/null; then
    ok "after reload: a clean message is accepted and delivered"
else
    fail "reload-clean: clean message after reload"
fi

# 5. SIGHUP with a broken database (strict = yes): the reload fails, the
# old engine stays, mail still flows.
printf 'this is not a signature line\n' >>"$db/reload.ndb"
failures=$(grep -c 'reload failed' "$work/pfm.log" || true)
kill -HUP "$pfm_pid"
if wait_for "failed reload" 60 bash -c "[ \$(grep -c 'reload failed' '$work/pfm.log') -gt $failures ]"; then
    ok "SIGHUP with a broken database: $(grep 'reload failed' "$work/pfm.log" | tail -n 1 | sed 's/.*error: //')"
else
    fail "reload-broken-db: no 'reload failed' in the log"; tail -n 10 "$work/pfm.log"
fi
before=$(delivered)
swaks_send marker-after-failed-reload "$work/marker.eml"
swaks_send clean-after-failed-reload "$work/clean2.eml"
if grep -qE '^<\*\* +550 5\.7\.1 Virus found: Test\.Milter\.ReloadMarker' "$work/marker-after-failed-reload.swaks" &&
    grep -qE '^<- +250 2\.0\.0 Ok: queued' "$work/clean-after-failed-reload.swaks" &&
    expect_delivered clean-after-failed-reload "$before" >/dev/null; then
    ok "after a failed reload: the old engine still scans (marker rejected, clean delivered)"
else
    fail "reload-broken-db: the old engine was not kept"
fi
kill -0 "$pfm_pid" 2>/dev/null || fail "pfm: the milter died"

echo
echo "--- milter log (Postfix instance) ---"
grep -vE 'debug:' "$work/pfm.log" | sed 's/^/  /'
echo "--- Postfix log: milter lines ---"
grep -E 'milter|libfilter|status=sent' "$pf/maillog" | sed 's/^/  /' | tail -n 20

step "done ($(( $(date +%s) - t_start ))s)"
echo "$passed checks passed, ${#failed[@]} failed"
if [ ${#failed[@]} -gt 0 ]; then
    echo "failed: ${failed[*]}"
    exit 1
fi
echo "all milter tests passed"
