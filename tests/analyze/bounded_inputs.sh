#!/bin/sh
# Issue 12, items 8 and 12, through the command line: loops of gotos and
# unreadable inputs end with an answer or an error (exit 1), in bounded
# memory (ulimit -v) and time (timeout), never a hang, bad_alloc or abort.
# Usage: bounded_inputs.sh SWARMWALL FIXTURES_DIR
set -u
bin=$1
fx=$2/docker-20.10-swarm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
# The address-space bound, except for a sanitizer build: AddressSanitizer
# reserves terabytes of shadow memory at start and cannot run under it (the
# time bound still holds there; the release build checks the memory).
vlimit=1048576
# ASan reserves terabytes of shadow: gcc links libasan, clang links it in.
if ldd "$bin" 2>/dev/null | grep -q libasan || grep -q __asan_init "$bin"; then vlimit=unlimited; fi
# expect WANT_EXIT WANT_TEXT -- COMMAND...: runs it with 1 GiB of address
# space and 60 s at most; the exit code and a part of stdout+stderr must match.
expect() {
  want=$1 text=$2
  shift 3
  out=$( (ulimit -v "$vlimit"; timeout 60 "$@") 2>&1 )
  got=$?
  if [ "$got" != "$want" ] || ! printf '%s' "$out" | grep -qF -- "$text"; then
    echo "FAIL: $* -> exit $got (want $want, text '$text'):"
    printf '%s\n' "$out" | head -5
    failed=$((failed + 1))
  else
    echo "ok: $*"
  fi
}

# Item 8: goto loops (and a -j/-g loop), which the kernel refuses to load.
printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:A - [0:0]\n-A INPUT -g A\n-A A -g A\nCOMMIT\n' > "$work/goto.rules"
printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n-A FORWARD -j A\n-A A -j B\n-A B -g A\nCOMMIT\n' > "$work/mixed.rules"
facts="--addr $fx/m1.ip-addr.json --route $fx/m1.ip-route.json"
for r in goto mixed; do
  expect 1 "loop of jumps and gotos" -- "$bin" trace "$work/$r.rules" $facts --in eth0 --src 198.51.100.7 --dst 203.0.113.11 --dport 22
  expect 1 "loop of jumps and gotos" -- "$bin" exposure "$work/$r.rules" $facts
  expect 2 "chain-loop" -- "$bin" audit "$work/$r.rules" $facts
done

# Item 12: devices, FIFOs, directories, wrong JSON shapes.
mkfifo "$work/fifo"
printf '{"a":1}' > "$work/object.json"
printf '[1,2]' > "$work/numbers.json"
printf '[{"ifname":5}]' > "$work/ifname.json"
rules=$fx/m1.iptables-save
expect 1 "/dev/zero: not a regular file" -- "$bin" normalize /dev/zero
expect 1 "not a regular file" -- "$bin" trace "$rules" --addr /dev/zero --in eth0 --src 198.51.100.7 --dst 203.0.113.11 --dport 22
expect 1 "--addr $work/fifo: not a regular file" -- "$bin" exposure "$rules" --addr "$work/fifo"
expect 1 "not a regular file" -- "$bin" audit "$rules" --addr "$fx/m1.ip-addr.json" --route "$work/fifo"
expect 1 "not a regular file" -- "$bin" exposure "$rules" --chain FORWARD --ipassmt "$work/fifo"
expect 1 "not a regular file" -- "$bin" audit "$rules" --file6 /dev/zero
expect 1 "a directory" -- "$bin" explain "$work"
expect 1 "not the JSON array" -- "$bin" trace "$rules" --addr "$work/object.json" --in eth0 --src 198.51.100.7 --dst 203.0.113.11 --dport 22
expect 1 "interface 1: a number" -- "$bin" exposure "$rules" --addr "$work/numbers.json"
expect 1 '"ifname" is a number' -- "$bin" audit "$rules" --addr "$work/ifname.json"
expect 1 "route 1: a number" -- "$bin" audit "$rules" --addr "$fx/m1.ip-addr.json" --route "$work/numbers.json"
expect 1 "--ipsets" -- "$bin" trace "$rules" --ipsets /dev/null/x --in eth0 --src 198.51.100.7 --dst 203.0.113.11 --dport 22

echo "$failed failed"
[ "$failed" = 0 ]
