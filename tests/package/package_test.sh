#!/usr/bin/env bash
# The Debian package in a throwaway Debian 12 root (issue 16): installed with
# `apt-get install ./swarmwall_*.deb` in a chroot made by debootstrap from
# this machine's own Debian mirror (its apt sources), never this machine's
# /usr; then `swarmwall --version`, `swarmwall check` of the installed
# example, `man -l` of its page, `systemd-analyze verify` of its units; then
# purged: nothing of it is left (its conffiles and state included), and
# every other file the install added belongs to a package it depended on.
# Usage (root): tests/package/package_test.sh DEB
# The minbase root is made once and kept as a tarball in
# $SWARMWALL_LAB_CACHE (default /var/cache/swarmwall-lab);
# tests/package/make_root.sh makes it (scripts/test.sh starts that early).
set -euo pipefail
deb=$(realpath "${1:?usage: package_test.sh DEB}")
here=$(cd "$(dirname "$0")" && pwd)
tarball=$("$here/make_root.sh")

root=$(mktemp -d /tmp/swarmwall-pkgroot.XXXXXX)
cleanup() {
  for m in dev/pts dev proc sys; do umount -l "$root/$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT
tar -C "$root" -xf "$tarball"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
cp /etc/resolv.conf "$root/etc/resolv.conf"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
fail() { echo "package_test: FAILED: $*" >&2; exit 1; }

# Every file of the root before (what apt and dpkg keep of their own aside).
snapshot() {
  (cd "$root" && find . -xdev \( -path ./proc -o -path ./dev -o -path ./sys -o -path ./tmp -o -path ./run \
      -o -path ./var/cache -o -path ./var/lib/apt -o -path ./var/lib/dpkg -o -path ./var/log \) -prune -o -print |
    sed 's|^\.||' | sort)
}
snapshot >"$root/../$(basename "$root").before"
before="$root/../$(basename "$root").before"
trap 'cleanup; rm -f "$before"' EXIT

cp "$deb" "$root/tmp/"
in_root apt-get update -qq
in_root apt-get install -y -qq --no-install-recommends "/tmp/$(basename "$deb")" >/dev/null ||
  fail "apt-get install ./$(basename "$deb")"
echo "package_test: installed $(in_root dpkg-query -W -f='${Package} ${Version}' swarmwall) with: $(in_root dpkg-query -W -f='${Depends}' swarmwall)"

version=$(in_root swarmwall --version) || fail "swarmwall --version"
[[ "$version" == swarmwall\ * ]] || fail "swarmwall --version said: $version"
echo "package_test: $version"
in_root test -f /etc/swarmwall/policy.example.yaml || fail "no /etc/swarmwall/policy.example.yaml"
in_root dpkg-query --showformat='${Conffiles}\n' --show swarmwall | grep -q /etc/swarmwall/policy.example.yaml ||
  fail "/etc/swarmwall/policy.example.yaml is not a conffile"
(cd "$root/etc/swarmwall" && in_root sh -c 'cd /etc/swarmwall && swarmwall check policy.example.yaml') >/dev/null ||
  fail "swarmwall check /etc/swarmwall/policy.example.yaml"
echo "package_test: swarmwall check of the installed example: ok"

page="$root/usr/share/man/man8/swarmwall.8.gz"
[ -f "$page" ] || fail "no manual page"
text=$(MANWIDTH=80 man -l "$page" 2>"$root/../man.err") || fail "man -l: $(cat "$root/../man.err")"
[ ! -s "$root/../man.err" ] || fail "man -l warned: $(cat "$root/../man.err")"
rm -f "$root/../man.err"
for cmd in $(in_root swarmwall --help | sed -n '/^SUBCOMMANDS:/,$p' | awk 'NR > 1 && /^  [a-z]/ { print $1 }'); do
  grep -q "^   $cmd\b" <<<"$text" || fail "the manual page lacks the subcommand $cmd"
done
echo "package_test: man -l swarmwall.8.gz: every subcommand of --help"

[ -f "$root/usr/share/bash-completion/completions/swarmwall" ] || fail "no bash completion"
bash -n "$root/usr/share/bash-completion/completions/swarmwall" || fail "the bash completion does not parse"

units=("$root/lib/systemd/system/swarmwall.service" "$root/lib/systemd/system/swarmwall-agent.service")
# (Its Documentation= page is checked above: --man=no, the host's man
# cannot see the root's pages.)
out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no --root="$root" "${units[@]}" 2>&1) ||
  fail "systemd-analyze verify: $out"
if grep -v -e 'docker.service' -e 'nftables.service' <<<"$out" | grep -q .; then fail "systemd-analyze verify: $out"; fi
for d in docker nftables; do
  conf="$root/usr/share/swarmwall/systemd/$d.service.d/10-swarmwall.conf"
  [ -f "$conf" ] || fail "no $d.service drop-in"
  grep -q '^ExecStartPost=/usr/sbin/swarmwall ' "$conf" || fail "$d.service drop-in does not run /usr/sbin/swarmwall"
done
for u in swarmwall.service swarmwall-agent.service; do
  [ -e "$root/etc/systemd/system/multi-user.target.wants/$u" ] && fail "$u is enabled"
done
echo "package_test: systemd-analyze verify swarmwall.service swarmwall-agent.service: ok; neither enabled"

files=$(in_root dpkg -L swarmwall)
in_root apt-get purge -y -qq swarmwall >/dev/null || fail "apt-get purge swarmwall"
for f in $files; do
  [ "$f" = "/." ] && continue
  if [ -e "$root$f" ] && [ ! -d "$root$f" ]; then fail "$f is left after the purge"; fi
done
[ ! -e "$root/etc/swarmwall" ] || fail "/etc/swarmwall is left after the purge"
[ ! -e "$root/var/lib/swarmwall" ] || fail "/var/lib/swarmwall is left after the purge"
# Everything else the install added belongs to a package swarmwall pulled in.
# dpkg knows a file of the merged /usr by the path its package names
# (/sbin/ip for /usr/sbin/ip); alternatives are symlinks of update-alternatives.
owned() { in_root dpkg -S "$1" >/dev/null 2>&1 || in_root dpkg -S "${1#/usr}" >/dev/null 2>&1; }
strays=()
while read -r f; do
  [ -d "$root$f" ] && [ ! -L "$root$f" ] && continue
  [ -L "$root$f" ] && [[ $(readlink "$root$f") == /etc/alternatives/* ]] && continue
  owned "$f" || strays+=("$f")
done < <(comm -13 "$before" <(snapshot))
# Files the dependencies' maintainer scripts make: netbase's /etc/hosts and
# /etc/networks, update-alternatives' links, the dynamic linker's cache,
# deb-systemd-helper's records of the units they ship (nftables.service).
strays=($(printf '%s\n' "${strays[@]}" | grep -v -E '^/etc/(hosts|networks|ld\.so\.cache)$|^/etc/alternatives/|^/var/lib/dpkg/|^/var/lib/systemd/deb-systemd-helper-' || true))
((${#strays[@]} == 0)) || fail "left after the purge and owned by no package: ${strays[*]}"
echo "package_test: purged: nothing of swarmwall is left"
