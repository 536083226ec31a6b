#!/usr/bin/env bash
# Builds images/agent and images/controller with Debian's buildah from a base made with
# debootstrap (no registry pulls: the VM reaches only Debian's mirrors), then runs --version in
# each image. Slow (two full C++ builds) and needs root, buildah and debootstrap, so CMake
# registers it only with -DZHISUAN_IMAGE_TESTS=ON, under the label "image" (docs/images.md).
# Containers run with --isolation chroot: crun refuses this VM's hybrid cgroup v1/v2 layout.
set -euo pipefail
source "$(dirname "$0")/common.sh"
for tool in buildah debootstrap; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not installed (apt-get install buildah debootstrap)" >&2; exit 1; }
done
cache="${XDG_CACHE_HOME:-$HOME/.cache}/zhisuan/images"
base=localhost/zhisuan-base:bookworm
version="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$CHART/Chart.yaml")"
jobs="${JOBS:-2}"

# The base: debootstrap --variant=minbase, imported once and reused (bookworm-slim is the same base
# here; the runtime stage installs only the runtime libraries on top).
if ! buildah inspect --type image "$base" >/dev/null 2>&1; then
  mkdir -p "$cache"
  if [[ ! -f "$cache/rootfs/etc/debian_version" ]]; then
    rm -rf "$cache/rootfs.tmp"
    debootstrap --variant=minbase bookworm "$cache/rootfs.tmp" http://deb.debian.org/debian
    mv "$cache/rootfs.tmp" "$cache/rootfs"
  fi
  ctr="$(buildah from scratch)"
  mnt="$(buildah mount "$ctr")"
  cp -a "$cache/rootfs/." "$mnt/"
  buildah umount "$ctr" >/dev/null
  buildah commit -q "$ctr" "$base" >/dev/null
  buildah rm "$ctr" >/dev/null
fi
buildah tag "$base" localhost/zhisuan-base:bookworm-slim

for component in agent controller; do
  image="localhost/zhisuan/$component:$version"
  if buildah bud --isolation chroot --layers -f "$ZHISUAN_SOURCE_DIR/images/$component/Dockerfile" \
      --build-arg DEBIAN_IMAGE="$base" --build-arg DEBIAN_SLIM_IMAGE=localhost/zhisuan-base:bookworm-slim \
      --build-arg JOBS="$jobs" -t "$image" "$ZHISUAN_SOURCE_DIR"; then
    pass "built $image"
  else
    fail "buildah bud images/$component/Dockerfile"
    continue
  fi
  ctr="$(buildah from "$image")"
  user="$(buildah inspect --type image -f '{{.OCIv1.Config.User}}' "$image")"
  out="$(buildah run --isolation chroot "$ctr" -- "/usr/bin/zhisuan-$component" --version 2>&1)" || true
  buildah rm "$ctr" >/dev/null
  [[ "$out" == *"$version"* ]] && pass "$component --version: $out" || fail "$component --version: $out"
  case "$component" in
    controller) [[ "$user" == 65532:65532 ]] && pass "controller image runs as 65532" || fail "controller image user $user" ;;
    agent) [[ "$user" == 0:0 ]] && pass "agent image user is root (docs/security.md)" || fail "agent image user $user" ;;
  esac
done
finish
