#!/usr/bin/env bash
# The style gates CI runs before the tests: clang-format over every tracked C++ file, and
# clang-tidy (the repository's .clang-tidy) over the product's sources. Either failing fails CI.
#
# Usage: hack/lint.sh format            check formatting (fix with `make format`)
#        hack/lint.sh tidy BUILD_DIR    clang-tidy with BUILD_DIR's compile_commands.json
#
# clang-tidy reads every product source (common, api, kube, agent, controller), not only the files
# a change touched: a clean clone has no base to diff against, and two cores check all of them in a
# few minutes (docs/ARCHITECTURE.md, "Running the pieces"). Tests, fixtures and benchmarks are left
# out: they are not shipped, and gmock's macros trip several checks by design.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { printf '[lint] ERROR: %s\n' "$*" >&2; exit 1; }

check_format() {
  command -v clang-format >/dev/null || die "clang-format is not installed (make deps installs it)"
  local files
  mapfile -t files < <(git ls-files '*.cc' '*.h')
  if ! clang-format --dry-run --Werror "${files[@]}"; then
    die "the files above are not formatted as .clang-format says; run 'make format'"
  fi
  echo "[lint] clang-format: ${#files[@]} files formatted"
}

check_tidy() {
  local build_dir=${1:?usage: hack/lint.sh tidy BUILD_DIR}
  command -v clang-tidy >/dev/null || die "clang-tidy is not installed (make deps installs it)"
  [[ -f $build_dir/compile_commands.json ]] ||
    die "$build_dir/compile_commands.json is missing; build first (make build)"
  local files
  mapfile -t files < <(git ls-files 'common/*.cc' 'api/*.cc' 'kube/*.cc' 'agent/*.cc' \
    'controller/*.cc')
  local jobs log
  jobs=$(nproc)
  log=$(mktemp)
  # One clang-tidy per file, nproc at a time; a finding in any file fails the gate.
  if ! printf '%s\n' "${files[@]}" |
    xargs -P "$jobs" -n 4 clang-tidy -p "$build_dir" --quiet --warnings-as-errors='*' \
      >"$log" 2>&1; then
    grep -E 'error:|warning:' "$log" | sort -u >&2 || cat "$log" >&2
    rm -f "$log"
    die "clang-tidy found the problems above"
  fi
  rm -f "$log"
  echo "[lint] clang-tidy: ${#files[@]} files clean"
}

case ${1:-} in
  format) check_format ;;
  tidy) shift; check_tidy "$@" ;;
  *) die "usage: hack/lint.sh format | tidy BUILD_DIR" ;;
esac
