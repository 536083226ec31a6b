#!/usr/bin/env bash
# Installs the Debian bookworm packages Zhisuan builds and tests with, only those missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates openssl ccache
  golang-go                                   # builds the Kubernetes toolchain only
  libcpprest-dev libssl-dev libboost-system-dev
  prometheus-cpp-dev nlohmann-json3-dev libyaml-cpp-dev libabsl-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libgtest-dev libgmock-dev
  clang clang-format clang-tidy libclang-rt-14-dev   # fuzzing, sanitizers, lint
  prometheus                                  # prometheus and promtool
  prometheus-node-exporter                    # the agent benchmark's side-by-side peer
  containerd runc containernetworking-plugins # the real node of the demo and the cluster suite
  iptables iproute2 busybox-static            # node networking; the workload image's shell
)

missing=()
for p in "${PACKAGES[@]}"; do
  # A Go already on PATH (newer than Debian's) serves as well as golang-go.
  if [[ $p == golang-go ]] && command -v go >/dev/null; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "[deps] all ${#PACKAGES[@]} Debian packages present"
  exit 0
fi
echo "[deps] installing ${#missing[@]} Debian packages: ${missing[*]}"
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q || { echo "[deps] apt-get update failed; check network access to Debian's mirrors and retry" >&2; exit 1; }
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" ||
  { echo "[deps] apt-get install failed (see above); retry with 'make deps'" >&2; exit 1; }
echo "[deps] done"
