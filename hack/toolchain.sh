#!/usr/bin/env bash
# Builds the Kubernetes toolchain Zhisuan tests against, from upstream sources through the Go module
# proxy, into a cache outside the build tree keyed by version. Release binaries cannot be downloaded
# here, so this is the only way to get a real kube-apiserver and etcd.
#
# Each tool is built in a scratch directory and moved into place only after it ran `--version`
# successfully, with a stamp written last: a failed or interrupted build never leaves a cache entry
# that a later run would trust.
#
# Usage: hack/toolchain.sh [--print-bindir] [tool...]
#   tools: etcd kube-apiserver kube-scheduler kube-controller-manager kubelet kubectl helm kwok
#          containerd (with containerd-shim-runc-v2 and ctr, for hack/node.sh)
set -euo pipefail

KUBE_VERSION=v1.34.4
ETCD_VERSION=v3.6.16
HELM_VERSION=v3.19.0
KWOK_VERSION=v0.7.0
# containerd 2 injects CDI devices (the kubelet DRA plugin's); Debian's containerd 1.6 does not.
CONTAINERD_VERSION=v2.4.2

CACHE_ROOT="${ZHISUAN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zhisuan}"
TOOLCHAIN_DIR="$CACHE_ROOT/toolchain"
BIN_DIR="$TOOLCHAIN_DIR/bin"

log() { printf '[toolchain] %s\n' "$*" >&2; }
die() {
  printf '[toolchain] ERROR: %s\n' "$1" >&2
  printf '[toolchain] Nothing was cached for this tool. Fix the cause and re-run: %s\n' \
    "make toolchain" >&2
  exit 1
}

require_go() {
  command -v go >/dev/null || die "Go is not installed; it is needed only to build the toolchain (apt-get install golang, or install Go >= 1.24)."
}

# stamp_of TOOL VERSION -> path of the stamp proving a finished build
stamp_of() { echo "$TOOLCHAIN_DIR/$1-$2/.complete"; }

is_cached() { [[ -f "$(stamp_of "$1" "$2")" && -x "$TOOLCHAIN_DIR/$1-$2/$1" ]]; }

# How to ask each tool for its version without a server: proof that the binary runs.
version_args() {
  case $1 in
    kubectl) echo "version --client" ;;
    helm) echo "version --short" ;;
    *) echo "--version" ;;
  esac
}

# install_built TOOL VERSION SCRATCH_BINARY: verify the binary runs, then publish it atomically.
install_built() {
  local tool=$1 version=$2 built=$3 dest="$TOOLCHAIN_DIR/$1-$2" out
  # shellcheck disable=SC2046
  out=$("$built" $(version_args "$tool") 2>&1) ||
    die "$tool $version was built but does not run ('$tool $(version_args "$tool")': $out)."
  log "$tool reports: $(echo "$out" | head -n 1)"
  rm -rf "$dest.partial" && mkdir -p "$dest.partial"
  cp "$built" "$dest.partial/$tool"
  rm -rf "$dest" && mv "$dest.partial" "$dest"
  date -u +%FT%TZ > "$dest/.complete"
  mkdir -p "$BIN_DIR"
  ln -sfn "../$tool-$version/$tool" "$BIN_DIR/$tool"
}

go_proxy_hint() {
  echo "Is the Go module proxy reachable (GOPROXY=$(go env GOPROXY))? Check network access and retry."
}

# A scratch Go module in a temp dir; removed on exit whatever happens.
new_scratch() {
  local d
  d=$(mktemp -d "${TMPDIR:-/tmp}/zhisuan-toolchain.XXXXXX")
  SCRATCH_DIRS+=("$d")
  echo "$d"
}
SCRATCH_DIRS=()
cleanup() { for d in "${SCRATCH_DIRS[@]}"; do rm -rf "$d"; done; }
trap cleanup EXIT

# Writes replace directives mapping every k8s.io staging module of k8s.io/kubernetes@KUBE_VERSION to
# its published v0.x tag. The list is read from that release's own go.mod, never kept by hand.
kube_staging_replaces() {
  local gomod staging_tag
  gomod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [[ -f "$gomod" ]] || die "could not download k8s.io/kubernetes@$KUBE_VERSION. $(go_proxy_hint)"
  staging_tag="v0.${KUBE_VERSION#v1.}"
  grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$gomod" | awk -v tag="$staging_tag" \
    '{ printf "replace %s => %s %s\n", $1, $1, tag }'
}

# build_kube_binary TOOL PACKAGE CALL: CALL is the expression in PACKAGE (imported as app) that
# returns the cobra command; the kubelet's takes a context, so "context" is always imported.
build_kube_binary() {
  local tool=$1 pkg=$2 call=$3
  is_cached "$tool" "$KUBE_VERSION" && { log "$tool $KUBE_VERSION: cached"; return; }
  log "$tool $KUBE_VERSION: building from source (first run takes several minutes)..."
  local dir minor replaces
  dir=$(new_scratch)
  minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
  replaces=$(cd "$dir" && kube_staging_replaces)
  [[ -n "$replaces" ]] || die "no staging modules found in k8s.io/kubernetes@$KUBE_VERSION go.mod"
  cat > "$dir/go.mod" <<GOMOD
module zhisuan.local/toolchain/$tool

go 1.24

require k8s.io/kubernetes $KUBE_VERSION

$replaces
GOMOD
  cat > "$dir/main.go" <<GOMAIN
// Command $tool is upstream's $tool main, built against a pinned k8s.io/kubernetes.
package main

import (
	"context"
	"os"

	"k8s.io/component-base/cli"
	app "$pkg"
)

var _ = context.Background

func main() {
	os.Exit(cli.Run(app.$call))
}
GOMAIN
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION"
  ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
  ldflags+=" -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  (cd "$dir" && go mod tidy >&2) || die "resolving modules for $tool failed. $(go_proxy_hint)"
  (cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$dir/$tool" . >&2) ||
    die "compiling $tool $KUBE_VERSION failed (see the Go errors above)."
  install_built "$tool" "$KUBE_VERSION" "$dir/$tool"
  log "$tool $KUBE_VERSION: ready"
}

build_etcd() {
  is_cached etcd "$ETCD_VERSION" && { log "etcd $ETCD_VERSION: cached"; return; }
  log "etcd $ETCD_VERSION: building from source..."
  local dir
  dir=$(new_scratch)
  # `go install go.etcd.io/etcd/v3` fails on etcd's replace directives, so import etcdmain instead.
  cat > "$dir/go.mod" <<GOMOD
module zhisuan.local/toolchain/etcd

go 1.24

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
GOMOD
  cat > "$dir/main.go" <<'GOMAIN'
// Command etcd is upstream's etcd server main, built against a pinned go.etcd.io/etcd/server/v3.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GOMAIN
  (cd "$dir" && go mod tidy >&2) || die "resolving modules for etcd failed. $(go_proxy_hint)"
  (cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$dir/etcd" . >&2) ||
    die "compiling etcd $ETCD_VERSION failed (see the Go errors above)."
  install_built etcd "$ETCD_VERSION" "$dir/etcd"
  log "etcd $ETCD_VERSION: ready"
}

# go install for tools whose main module has no replace directives.
build_go_install() {
  local tool=$1 version=$2 pkg=$3 ldflags=${4:-}
  is_cached "$tool" "$version" && { log "$tool $version: cached"; return; }
  log "$tool $version: building from source..."
  local dir
  dir=$(new_scratch)
  GOBIN="$dir" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w $ldflags" "$pkg@$version" >&2 ||
    die "go install $pkg@$version failed. $(go_proxy_hint)"
  install_built "$tool" "$version" "$dir/$(basename "${pkg%/v[0-9]*}")"
  log "$tool $version: ready"
}

# containerd, its runc shim and ctr, from one pinned module into one cache entry. Static (no cgo):
# the snapshotters that need cgo (btrfs, devmapper, zfs) are left out, and hack/node.sh uses
# overlayfs. About 5 minutes on 2 cores, downloads included.
build_containerd() {
  local version=$CONTAINERD_VERSION dest="$TOOLCHAIN_DIR/containerd-$CONTAINERD_VERSION"
  is_cached containerd "$version" && [[ -x $dest/ctr && -x $dest/containerd-shim-runc-v2 ]] &&
    { log "containerd $version: cached"; return; }
  log "containerd $version: building from source (several minutes)..."
  local dir module=github.com/containerd/containerd/v2 binary out
  dir=$(new_scratch)
  GOBIN="$dir" CGO_ENABLED=0 go install -trimpath -tags "no_btrfs no_devmapper no_zfs" \
    -ldflags "-s -w -X $module/version.Version=$version" \
    "$module/cmd/containerd@$version" "$module/cmd/containerd-shim-runc-v2@$version" \
    "$module/cmd/ctr@$version" >&2 ||
    die "go install $module@$version failed. $(go_proxy_hint)"
  for binary in containerd ctr; do
    out=$("$dir/$binary" --version 2>&1) || die "$binary $version was built but does not run: $out"
    log "$binary reports: $out"
  done
  out=$("$dir/containerd-shim-runc-v2" -v 2>&1) ||
    die "containerd-shim-runc-v2 $version was built but does not run: $out"
  rm -rf "$dest.partial" && mkdir -p "$dest.partial"
  cp "$dir/containerd" "$dir/containerd-shim-runc-v2" "$dir/ctr" "$dest.partial/"
  rm -rf "$dest" && mv "$dest.partial" "$dest"
  date -u +%FT%TZ >"$dest/.complete"
  mkdir -p "$BIN_DIR"
  for binary in containerd containerd-shim-runc-v2 ctr; do
    ln -sfn "../containerd-$version/$binary" "$BIN_DIR/$binary"
  done
  log "containerd $version: ready"
}

build_tool() {
  case $1 in
    etcd) build_etcd ;;
    kube-apiserver) build_kube_binary kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver/app 'NewAPIServerCommand()' ;;
    kube-scheduler) build_kube_binary kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler/app 'NewSchedulerCommand()' ;;
    kube-controller-manager) build_kube_binary kube-controller-manager \
        k8s.io/kubernetes/cmd/kube-controller-manager/app 'NewControllerManagerCommand()' ;;
    kubelet) build_kube_binary kubelet k8s.io/kubernetes/cmd/kubelet/app 'NewKubeletCommand(context.Background())' ;;
    kubectl) build_kube_binary kubectl k8s.io/kubectl/pkg/cmd 'NewDefaultKubectlCommand()' ;;
    helm) build_go_install helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm \
        "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" ;;
    kwok) build_go_install kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok \
        "-X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" ;;
    containerd) build_containerd ;;
    *) die "unknown tool '$1' (known: etcd kube-apiserver kube-scheduler kube-controller-manager kubelet kubectl helm kwok containerd)" ;;
  esac
}

main() {
  if [[ ${1:-} == --print-bindir ]]; then echo "$BIN_DIR"; exit 0; fi
  local tools=("$@")
  [[ ${#tools[@]} -gt 0 ]] || tools=(etcd kube-apiserver kube-scheduler kube-controller-manager kubelet kubectl helm kwok containerd)
  require_go
  mkdir -p "$TOOLCHAIN_DIR"
  for t in "${tools[@]}"; do build_tool "$t"; done
  log "toolchain in $BIN_DIR"
}

main "$@"
