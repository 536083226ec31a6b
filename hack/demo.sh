#!/usr/bin/env bash
# `make demo` / `make demo-down`: the local control plane with Zhisuan on it, left running.
#   hack/demo.sh up DEMO_DIR BUILD_DIR
#   hack/demo.sh down DEMO_DIR BUILD_DIR
set -euo pipefail

verb=$1 demo_dir=$2 build_dir=$3
repo=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=$("$repo/hack/toolchain.sh" --print-bindir)
devcluster="$build_dir/tests/harness/zhisuan-devcluster"
kubectl="$bin_dir/kubectl"
export ZHISUAN_SOURCE_DIR=$repo ZHISUAN_TOOLCHAIN_BIN=$bin_dir

say() { printf '[demo] %s\n' "$*"; }

case $verb in
  up)
    if [[ -f $demo_dir/pids ]]; then
      say "already running (state in $demo_dir); 'make demo-down' stops it"
    else
      mkdir -p "$demo_dir"
      say "starting etcd and kube-apiserver on loopback (state in $demo_dir)"
      "$devcluster" up "$demo_dir/control-plane"
      cp "$demo_dir/control-plane/pids" "$demo_dir/pids"
    fi
    export KUBECONFIG=$demo_dir/control-plane/admin.kubeconfig
    say "installing the Zhisuan CRDs"
    "$kubectl" apply -f "$repo/charts/zhisuan/crds/" >/dev/null
    "$kubectl" wait --for=condition=Established crd/computepools.zhisuan.io \
      crd/computenodes.zhisuan.io --timeout=60s >/dev/null
    "$kubectl" version 2>/dev/null | sed 's/^/[demo] /'
    echo
    echo "The demo control plane is up. To use it:"
    echo "  export KUBECONFIG=$KUBECONFIG"
    echo "  $kubectl get computepools,computenodes -A"
    echo "Stop everything with: make demo-down"
    ;;
  down)
    if [[ -d $demo_dir/control-plane ]]; then
      "$devcluster" down "$demo_dir/control-plane" || true
    fi
    rm -f "$demo_dir/pids"
    say "stopped; state left in $demo_dir (delete it for a fresh start)"
    ;;
  *)
    echo "usage: demo.sh up|down DEMO_DIR BUILD_DIR" >&2
    exit 2
    ;;
esac
