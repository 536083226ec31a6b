# Shared by the chart tests: tool paths and small assertions. Source it; set -euo pipefail first.
: "${ZHISUAN_SOURCE_DIR:?run through ctest (ZHISUAN_SOURCE_DIR)}"
: "${ZHISUAN_TOOLCHAIN_BIN:?run through ctest (ZHISUAN_TOOLCHAIN_BIN)}"
export PATH="$ZHISUAN_TOOLCHAIN_BIN:$PATH"
CHART="$ZHISUAN_SOURCE_DIR/charts/zhisuan"
KUBE_VERSION=1.34.4
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
# eventually SECONDS COMMAND...: until COMMAND succeeds (its output discarded), at most SECONDS.
eventually() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 1
  done
}

# expect_render_error DESCRIPTION EXPECTED_SUBSTRING HELM_ARGS...
expect_render_error() {
  local what="$1" want="$2"; shift 2
  local out
  if out="$(helm template t "$CHART" --kube-version "$KUBE_VERSION" "$@" 2>&1)"; then
    fail "$what: rendered, expected an error containing: $want"
  elif [[ "$out" != *"$want"* ]]; then
    fail "$what: error does not contain \"$want\": $out"
  else
    pass "$what"
  fi
}

finish() {
  if ((failures > 0)); then
    echo "$failures check(s) failed" >&2
    exit 1
  fi
  echo "all checks passed"
}
