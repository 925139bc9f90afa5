#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Runs each app (built for the host by the Makefile, on the fake kernel) with a command line and
# checks its exit status and output. Prints "N passed, N failed"; exits non-zero on any failure.
# Usage: OUT=<host test build dir> ./run_apps.sh
set -u

APPS_DIR="${OUT:?set OUT to the host test build directory}/apps"
passed=0
failed=0

# expect NAME STATUS APP CMDLINE [PATTERN...]: run APP with CMDLINE (plus any FC_FAKE_* variables
# already exported), then require exit status STATUS and every grep -E PATTERN in its output.
# A PATTERN starting with '!' must not match.
expect() {
    local name=$1 want_status=$2 app=$3 cmdline=$4
    shift 4
    local output status problem=""
    output=$(FC_FAKE_CMDLINE="$cmdline" timeout 60 "$APPS_DIR/$app" 2>&1)
    status=$?
    [[ $status -eq $want_status ]] || problem="exit status $status, expected $want_status"
    local pattern
    for pattern in "$@"; do
        if [[ $pattern == !* ]]; then
            grep -Eq -- "${pattern#!}" <<<"$output" && problem+="${problem:+; }output matches '${pattern#!}'"
        else
            grep -Eq -- "$pattern" <<<"$output" || problem+="${problem:+; }no line matches '$pattern'"
        fi
    done
    if [[ -z $problem ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        printf 'FAIL %s (%s %s): %s\n--- output ---\n%s\n--------------\n' \
            "$name" "$app" "$cmdline" "$problem" "$output" >&2
    fi
}

# The counter values an app wrote to data/counter, one per line (needs FC_FAKE_XS_TRACE).
counter_writes() {
    grep -Eo 'xs-write data/counter=[0-9]+' | cut -d= -f2
}

expect "hello greets and prints argv" 0 hello '' \
    '^Hello from FlexCapsule OS! This is hello' '^argc=1$' '^argv\[0\]="hello"$'
expect "hello passes quoted words intact" 0 hello 'one "two words" three\ four ""' \
    '^argc=5$' '^argv\[2\]="two words"$' '^argv\[3\]="three four"$' '^argv\[4\]=""$'
expect "hello exits with --status" 7 hello '--status 7' 'exiting with status 7'
expect "hello accepts --status=N" 9 hello '--status=9' 'exiting with status 9'
expect "hello rejects an unknown option" 2 hello '--colour red' 'unknown option "--colour"' \
    '^usage: hello' '!^Hello from'
expect "hello rejects a missing value" 2 hello '--status' '--status needs a value'
expect "hello rejects a non-number" 2 hello '--status seven' 'needs a whole number, got "seven"'
expect "hello rejects an out-of-range status" 2 hello '--status 255' 'must be from 0 to 254'
expect "an open quote is a clear error" 2 hello '"never closed' 'double quote is never closed'

expect "counter ticks with both clocks" 0 counter '--interval-ms 50 --count 4' \
    '^counter 0 mono_ns=[0-9]+ wall_ns=[0-9]+$' '^counter 3 mono_ns=' '!^counter 4 '
expect "counter rejects a zero interval" 2 counter '--interval-ms 0' 'must be from 1'
expect "counter rejects positional words" 2 counter 'extra' '^usage: counter'

# Counter values and timestamps must be strictly increasing, and each tick lands in xenstore.
counter_output=$(FC_FAKE_CMDLINE='--count 20' FC_FAKE_XS_TRACE=1 "$APPS_DIR/counter" 2>&1)
if awk '/^counter [0-9]+ / {
            split($3, m, "="); split($4, w, "=");
            if (n++ && ($2 != prev + 1 || m[2] <= pm || w[2] <= pw)) bad = 1;
            prev = $2; pm = m[2]; pw = w[2] }
        END { exit (bad || n != 20) }' <<<"$counter_output" \
   && [[ $(counter_writes <<<"$counter_output" | tr '\n' ' ') == "$(seq -s ' ' 0 19) " ]]; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
    printf 'FAIL counter is strictly increasing and mirrored to data/counter:\n%s\n' \
        "$counter_output" >&2
fi

expect "memtouch verifies every pass" 0 memtouch '--mib 2 --rate 1000 --passes 3' \
    '^memtouch filled 2 MiB' '^memtouch pass 1 ok checksum=0x[0-9a-f]{16}$' \
    '^memtouch pass 3 ok checksum=' '!MISMATCH'
memtouch_sums=$(FC_FAKE_CMDLINE='--mib 1 --rate 1000 --passes 3' "$APPS_DIR/memtouch" \
    | grep -Eo 'pass [0-9]+ ok checksum=0x[0-9a-f]+' | cut -d= -f2 | sort -u | wc -l)
if [[ $memtouch_sums -eq 3 ]]; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
    echo "FAIL memtouch passes must have distinct checksums (got $memtouch_sums distinct of 3)" >&2
fi
# A byte flipped behind memtouch's back (as a lost dirty page would be) must be caught.
FC_FAKE_CORRUPT_AT_NS=25000000 \
    expect "memtouch detects corrupted memory" 3 memtouch '--mib 2 --rate 100 --passes 3' \
    '^memtouch CHECKSUM MISMATCH pass=1 expected=0x[0-9a-f]+ got=0x[0-9a-f]+$' '!pass 1 ok'
expect "memtouch rejects 0 MiB" 2 memtouch '--mib 0' 'must be from 1'
expect "memtouch reports allocation failure" 1 memtouch '--mib 1048576 --passes 1' \
    'cannot allocate 1048576 MiB'

expect "cpuload starts at --duty" 0 cpuload '--duty 30 --periods 3' '^cpuload duty=30$' \
    '!was'
FC_FAKE_XS_AT="250000000:data/cpuload-duty=70" \
    expect "cpuload follows data/cpuload-duty" 0 cpuload '--duty 30 --periods 6' \
    '^cpuload duty=30$' '^cpuload duty=70 \(was 30, from xenstore\)$'
FC_FAKE_XS="data/cpuload-duty=abc" \
    expect "cpuload ignores a bad duty value, once" 0 cpuload '--duty 20 --periods 4' \
    '^cpuload duty=20$' 'ignoring data/cpuload-duty="abc"' '!was 20'
FC_FAKE_XS="data/cpuload-duty=101" \
    expect "cpuload ignores an out-of-range duty" 0 cpuload '--periods 2' 'ignoring .*"101"'
expect "cpuload rejects --duty 101" 2 cpuload '--duty 101' 'must be from 0 to 100'

echo "$passed passed, $failed failed"
[[ $failed -eq 0 && $passed -gt 0 ]]
