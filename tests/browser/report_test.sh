#!/usr/bin/env bash
# The HTML reports in a real browser (issue 16): makes `audit --html` of a
# real Docker 29.7.2 Swarm node (tests/fixtures), `exposure --html` of the
# same, and `audit --html` of a 5,000-rule ruleset, then opens each in
# Debian's Chromium (report_test.mjs says what is checked). Screenshots are
# kept in OUT_DIR as the test's artifacts.
# Usage: tests/browser/report_test.sh SWARMWALL OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sw=$(realpath "${1:?usage: report_test.sh SWARMWALL OUT_DIR}")
out=$(mkdir -p "${2:?}" && cd "$2" && pwd)
chromium=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { echo "report_test: no $chromium (scripts/setup.sh installs Debian's chromium)" >&2; exit 1; }
# playwright-core, as package-lock.json pins it (no browser download: Debian's).
if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >/dev/null)
fi
fx="$here/../fixtures/docker-29.7-iptables"
"$sw" audit "$fx/m1.iptables-save" --file6 "$fx/m1.ip6tables-save" --addr "$fx/m1.ip-addr.json" \
  --route "$fx/m1.ip-route.json" --route6 "$fx/m1.ip6-route.json" --html "$out/audit-m1.html" >/dev/null || [ $? -eq 2 ]
"$sw" exposure "$fx/m1.iptables-save" --addr "$fx/m1.ip-addr.json" --route "$fx/m1.ip-route.json" \
  --html "$out/exposure-m1.html" >/dev/null || [ $? -eq 2 ]
# 5,000 rules: a user chain of port rules from many sources, jumped to from
# INPUT and FORWARD, beside Docker's chains of the fixture.
awk 'BEGIN { print "*filter"; print ":INPUT ACCEPT [0:0]"; print ":FORWARD DROP [0:0]"; print ":OUTPUT ACCEPT [0:0]";
  print ":ADMIN - [0:0]"; print "-A INPUT -j ADMIN"; print "-A FORWARD -j ADMIN";
  for (i = 0; i < 4997; i++) printf "-A ADMIN -s 10.%d.%d.0/24 -p tcp -m tcp --dport %d -j ACCEPT\n", int(i / 250), i % 250, 20000 + i % 3000;
  print "COMMIT" }' >"$out/5000-rules.iptables-save"
"$sw" audit "$out/5000-rules.iptables-save" --html "$out/audit-5000-rules.html" >/dev/null || [ $? -eq 2 ]
node "$here/report_test.mjs" "$chromium" "$out" \
  "$out/audit-m1.html:0:matrix+graph" "$out/exposure-m1.html:0:matrix" "$out/audit-5000-rules.html:2000:graph"
