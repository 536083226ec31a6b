#!/usr/bin/env bash
# hack/toolchain.sh with no reachable module proxy must stop with a message that says what failed
# and how to retry, and must leave nothing in the cache that a later run would trust: neither a
# fresh failure nor a leftover binary without its completion stamp.
set -u
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
script="$ZHISUAN_SOURCE_DIR/hack/toolchain.sh"
run_offline() {
  ZHISUAN_CACHE="$tmp/cache" GOMODCACHE="$tmp/mod" GOCACHE="$tmp/gocache" GOPROXY=off \
    GOFLAGS=-mod=mod "$script" "$@" 2>&1
}

out=$(run_offline etcd); rc=$?
[[ $rc -ne 0 ]] || fail "offline build exited 0: $out"
grep -q "ERROR: resolving modules for etcd failed" <<<"$out" || fail "no clear error: $out"
grep -q "GOPROXY=off" <<<"$out" || fail "the error does not name the proxy setting: $out"
grep -q "re-run: make toolchain" <<<"$out" || fail "no retry hint: $out"
[[ ! -e "$tmp/cache/toolchain/etcd-v3.6.16" ]] || fail "a failed build left a cache entry"
[[ ! -e "$tmp/cache/toolchain/bin/etcd" ]] || fail "a failed build left a bin link"

# A binary from an interrupted earlier run, without its stamp, is not trusted: the tool is rebuilt
# (which fails offline) rather than reported as cached.
mkdir -p "$tmp/cache/toolchain/kube-apiserver-v1.34.4"
printf '#!/bin/sh\necho half-written\n' > "$tmp/cache/toolchain/kube-apiserver-v1.34.4/kube-apiserver"
chmod +x "$tmp/cache/toolchain/kube-apiserver-v1.34.4/kube-apiserver"
out=$(run_offline kube-apiserver); rc=$?
[[ $rc -ne 0 ]] || fail "an unstamped cache entry was trusted: $out"
grep -q "kube-apiserver v1.34.4: cached" <<<"$out" && fail "reported an unstamped entry as cached"
grep -q "could not download k8s.io/kubernetes@v1.34.4" <<<"$out" || fail "no clear error: $out"
echo "PASS: toolchain failures are reported and never cached"
