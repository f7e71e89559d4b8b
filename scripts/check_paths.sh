#!/usr/bin/env bash
# Checks that the repository names no path of the machine it was written on
# and that no user-facing document points outside the repository:
#  - no tracked file (other than this script) contains `/work/`;
#  - in README.md, docs/, deploy/README.md and examples/, every relative path
#    that starts with `../` names something inside the repository
#    (docs/policy.md's `../examples` does; `../shared/seeds` does not);
#  - the files of the repository those documents name (src/..., tests/...) exist.
# Paths of the developer's machine come from SWARMWALL_SHARED or arguments.
#
#   scripts/check_paths.sh [REPO_DIR]      (default: the repo of this script)
#
# bash, grep, sed and coreutils only. Exits 1 on any finding.
set -euo pipefail

repo=$(cd "${1:-"$(dirname "$0")/.."}" && pwd)
cd "$repo"
self=scripts/check_paths.sh

# Tracked files; a tree without git (an unpacked tarball) is walked instead,
# build directories left out.
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  list_files() { git ls-files -z; }
else
  list_files() { find . -path ./.git -prune -o -path './build*' -prune -o -type f -printf '%P\0'; }
fi

bad=0

# 1. Paths of this machine.
while IFS= read -r hit; do
  file=${hit%%:*} rest=${hit#*:}
  text=$(sed -E "s/^[[:space:]]+//" <<<"${rest#*:}")
  echo "$file:${rest%%:*}: a path of the machine it was written on: $text"
  bad=$((bad + 1))
done < <(list_files | grep -zv -x -F "$self" | xargs -0 -r grep -nIF '/work/' -- 2>/dev/null || true)

# 2. User-facing documents stay inside the repository.
docs() { list_files | tr '\0' '\n' | grep -E '^(README\.md|docs/.*|deploy/README\.md|examples/.*)$' || true; }
while IFS= read -r file; do
  [[ -f $file ]] || continue
  dir=$(dirname "$file")
  while IFS=: read -r line path; do
    target=$(realpath -m "$dir/$path")
    if [[ $target != "$repo" && $target != "$repo"/* ]] || [[ ! -e $target ]]; then
      echo "$file:$line: $path points outside the repository (users have only the repository)"
      bad=$((bad + 1))
    fi
  done < <(grep -noE '\.\./[A-Za-z0-9_.+-][A-Za-z0-9_./+-]*' "$file" | sed 's/[.]$//' || true)
done < <(docs)

# 3. The repository's own files that user documents name exist (a moved file
#    leaves its documents behind otherwise). `src/agent/membership.*` style
#    stems count when some file starts with them; ALL-CAPS components are
#    placeholders (tests/golden/firewalld/EXAMPLE/NODE.sh).
while IFS= read -r file; do
  [[ -f $file && $file == *.md ]] || continue
  while IFS=: read -r line path; do
    [[ -e $path ]] && continue
    compgen -G "$path*" >/dev/null && continue
    [[ /$path/ =~ /[A-Z][A-Z0-9_]+(\.[a-z]+)?/ ]] && continue
    echo "$file:$line: $path does not exist"
    bad=$((bad + 1))
  done < <(grep -noE '(^|[^A-Za-z0-9_./-])(src|tests|scripts|deploy|examples|bench|fuzz)/[A-Za-z0-9_./-]*[A-Za-z0-9_]' "$file" |
           sed -E 's/^([0-9]+):[^a-z]?/\1:/' || true)
done < <(docs)

if ((bad)); then
  echo "check_paths: $bad finding(s); paths come from SWARMWALL_SHARED, an argument, or relative to the repository"
  exit 1
fi
