#!/usr/bin/env bash
# Builds dist/swarmwall_VERSION_amd64.deb (CPack, cmake/packaging.cmake says
# why) and runs lintian on it: an error or a warning that
# packaging/lintian-overrides does not explain fails the script.
# Usage: scripts/package.sh [BUILD_DIR]
#   BUILD_DIR: an existing build of this tree to package (CI: the build its
#   tests ran on); default: a clean build in build-package/ with Debian's
#   hardening flags (dpkg-buildflags).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${1:-}
if [ -z "$build" ]; then
  build=build-package
  rm -rf "$build"
  export DEB_BUILD_MAINT_OPTIONS=hardening=+all
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_INSTALL_PREFIX=/usr \
    "-DCMAKE_CXX_FLAGS=$(dpkg-buildflags --get CXXFLAGS) $(dpkg-buildflags --get CPPFLAGS)" \
    "-DCMAKE_EXE_LINKER_FLAGS=$(dpkg-buildflags --get LDFLAGS)" -DSWARMWALL_BENCH=OFF >/dev/null
fi
build=$(cd "$build" && pwd)
ninja -C "$build" swarmwall swarmwall_reference swarmwall_changelog swarmwall_dlopen_deps >/dev/null

# The libraries swarmwall loads at run time, as dpkg-shlibdeps computes them
# over a program that links them (packaging/dlopen_deps.cc).
shl=$(mktemp -d)
trap 'rm -rf "$shl"' EXIT
mkdir "$shl/debian"
printf 'Source: swarmwall\n\nPackage: swarmwall\nArchitecture: any\n' >"$shl/debian/control"
cp "$build/swarmwall_dlopen_deps" "$shl/"
(cd "$shl" && dpkg-shlibdeps -O swarmwall_dlopen_deps 2>/dev/null) >"$shl/out"
dlopen_depends=$(sed -n 's/^shlibs:Depends=//p' "$shl/out" | tr ',' '\n' | sed 's/^ *//' |
  grep -E '^(libnftables|libcurl)' | paste -sd, | sed 's/,/, /g')
[ -n "$dlopen_depends" ] || { echo "package.sh: dpkg-shlibdeps found no libnftables/libcurl" >&2; exit 1; }
cmake -DSWARMWALL_DLOPEN_DEPENDS="$dlopen_depends" "$build" >/dev/null

mkdir -p dist
rm -f dist/swarmwall_*.deb
(cd "$build" && cpack -G DEB >/dev/null)
deb=$(ls dist/swarmwall_*_amd64.deb)
echo "package.sh: $deb"
dpkg-deb --field "$deb" Depends

if command -v lintian >/dev/null; then
  # --fail-on: error and warning; overrides (installed by the package) apply.
  lintian --fail-on error,warning --info "$deb"
  echo "package.sh: lintian: no error, no unexplained warning"
else
  echo "package.sh: lintian is not installed (scripts/setup.sh installs it)" >&2
  exit 1
fi
