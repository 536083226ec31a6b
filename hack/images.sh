#!/usr/bin/env bash
# Builds the container images from what `make build` already compiled, in seconds, with no
# registry and no Docker/buildah engine (docs/images.md, "Local images"):
#
#   hack/images.sh BUILD_DIR OUT_DIR [pause|workload|agent|controller ...]
#
# Each image becomes OUT_DIR/<name>.tar, a docker-archive tarball for
# `ctr -n k8s.io images import`, and one line `<name> <tag> <path>` on stdout. Tags are
# zhisuan.local/<name>:<appVersion>[-<short commit>[-dirty]], so an image names the commit it was
# built from. The images hold only files from this machine: the binaries from BUILD_DIR, the
# shared libraries `ldd` says they need, and a few files written here; the same inputs give the
# same bytes (hack/pack_image.py). Nothing here touches the network.
set -euo pipefail

SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ALL_IMAGES=(pause workload agent controller)
REGISTRY=zhisuan.local
SOURCE_URL=https://github.com/zhisuan/zhisuan
BUSYBOX="${BUSYBOX:-/bin/busybox}"
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
# The vendor management libraries come from the node (vendor container runtime or
# agent.hostLibraryPaths), matching its driver; an image must never carry them or the fakes.
VENDOR_LIBS='^(libnvidia-ml|libdcmi|libcuda)'

die() { echo "images.sh: $*" >&2; exit 1; }
log() { echo "images.sh: $*" >&2; }

usage() {
  echo "usage: hack/images.sh BUILD_DIR OUT_DIR [IMAGE...]   (images: ${ALL_IMAGES[*]}; default all)" >&2
  exit 2
}

# binary_of IMAGE: the BUILD_DIR-relative path of the image's program, if it has one.
binary_of() {
  case "$1" in
    agent) echo agent/zhisuan-agent ;;
    controller) echo controller/zhisuan-controller ;;
  esac
}

# Everything an image needs is checked before anything is built, so a missing input fails fast
# and names the file.
check_inputs() {
  local image rel
  command -v python3 >/dev/null || die "python3 not found (hack/pack_image.py needs it)"
  for image in "${IMAGES[@]}"; do
    case "$image" in
      pause) command -v gcc >/dev/null || die "gcc not found (the pause image is compiled here)" ;;
      workload)
        [[ -x "$BUSYBOX" ]] || die "$BUSYBOX not found: install busybox-static (hack/deps.sh)"
        # A dynamic busybox would need libc in the image; Debian's busybox-static does not.
        if ldd "$BUSYBOX" >/dev/null 2>&1; then
          die "$BUSYBOX is dynamically linked: install busybox-static (hack/deps.sh)"
        fi ;;
      agent | controller)
        rel="$(binary_of "$image")"
        [[ -x "$BUILD_DIR/$rel" ]] ||
          die "$BUILD_DIR/$rel not found: build it first (make build, or cmake --build $BUILD_DIR --target ${rel#*/})"
        [[ -r "$CA_BUNDLE" ]] || die "$CA_BUNDLE not found: install ca-certificates" ;;
      *) die "unknown image '$image' (images: ${ALL_IMAGES[*]})" ;;
    esac
  done
}

# The chart's appVersion, plus the commit when this is a git checkout: two builds from different
# commits never share a tag, and a dirty tree says so.
set_version() {
  APP_VERSION="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' \
    "$SOURCE_DIR/charts/zhisuan/Chart.yaml")"
  [[ -n "$APP_VERSION" ]] || die "no appVersion in charts/zhisuan/Chart.yaml"
  VERSION="$APP_VERSION" REVISION="" CREATED=""
  if REVISION="$(git -C "$SOURCE_DIR" rev-parse --verify -q HEAD 2>/dev/null)"; then
    VERSION="$APP_VERSION-${REVISION:0:7}"
    [[ -z "$(git -C "$SOURCE_DIR" status --porcelain 2>/dev/null)" ]] || VERSION="$VERSION-dirty"
    # The commit's time, not now: the config's "created" must not change between builds.
    CREATED="$(TZ=UTC0 git -C "$SOURCE_DIR" log -1 --format=%cd \
      --date=format-local:%Y-%m-%dT%H:%M:%SZ HEAD)"
  else
    REVISION=""
  fi
}

# base_rootfs DIR: what every image but pause has: users, name lookup order, a writable /tmp.
base_rootfs() {
  local root="$1"
  mkdir -p "$root/etc" "$root/tmp"
  chmod 1777 "$root/tmp"
  # 65532 is the distroless "nonroot" convention and the chart's runAsUser.
  printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
    'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$root/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nonroot:x:65532:' >"$root/etc/group"
  # /etc/hosts (which the kubelet mounts) before DNS, as on any Debian host.
  printf '%s\n' 'passwd: files' 'group: files' 'hosts: files dns' >"$root/etc/nsswitch.conf"
}

# copy_shared_libraries BINARY ROOT: the binary's ldd closure, each at the path ldd prints (the
# dynamic loader included), so the loader's default search finds it without an ld.so.cache.
copy_shared_libraries() {
  local binary="$1" root="$2" listing path
  # A LD_LIBRARY_PATH (the tests point one at the fake vendor libraries) must not steer the result.
  listing="$(env -u LD_LIBRARY_PATH -u LD_PRELOAD ldd "$binary")" || die "ldd $binary failed"
  if grep -q 'not found' <<<"$listing"; then
    die "$binary: shared libraries not found on this machine:"$'\n'"$(grep 'not found' <<<"$listing")"
  fi
  while read -r path; do
    [[ "$(basename "$path")" =~ $VENDOR_LIBS ]] &&
      die "$binary links $path: vendor libraries are provided by the node, never by the image"
    case "$path" in
      /lib/* | /lib64/* | /usr/lib/* | /usr/lib64/*) ;;
      *) die "$binary loads $path, outside the system library directories (an RPATH into a build tree?)" ;;
    esac
    mkdir -p "$root$(dirname "$path")"
    cp -L "$path" "$root$path"
  done < <(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) { print $i; break } }' <<<"$listing")
}

# pack NAME ROOT PACK_IMAGE_ARGS...: writes OUT_DIR/NAME.tar and prints its line.
pack() {
  local name="$1" root="$2" tag="$REGISTRY/$1:$VERSION" id
  shift 2
  local labels=(--label "org.opencontainers.image.title=zhisuan-$name"
    --label "org.opencontainers.image.source=$SOURCE_URL"
    --label "org.opencontainers.image.version=$VERSION")
  [[ -z "$REVISION" ]] || labels+=(--label "org.opencontainers.image.revision=$REVISION")
  [[ -z "$CREATED" ]] || labels+=(--created "$CREATED")
  id="$(python3 "$SOURCE_DIR/hack/pack_image.py" --rootfs "$root" --tag "$tag" \
    --output "$OUT_DIR/$name.tar" "${labels[@]}" "$@")"
  log "$name: $id"
  echo "$name $tag $OUT_DIR/$name.tar"
}

build_pause() {
  local root="$WORK/pause"
  mkdir -p "$root"
  # Static and stripped: the image is this one file, like the upstream pause image.
  gcc -static -Os -s -Wall -Wextra -Werror -o "$root/pause" "$SOURCE_DIR/images/pause/pause.c"
  # 65535, the upstream pause image's user: the sandbox holder needs no privilege.
  pack pause "$root" --entrypoint '["/pause"]' --user 65535:65535 \
    --label "org.opencontainers.image.description=Zhisuan local pod sandbox (pause)"
}

build_workload() {
  local root="$WORK/workload" applet
  base_rootfs "$root"
  mkdir -p "$root/bin"
  cp "$BUSYBOX" "$root/bin/busybox"
  # Relative links, so they resolve the same inside the container and in an extracted rootfs.
  for applet in sh ash cat cp date echo env false grep head hostname id kill ln ls mkdir mv \
    printenv ps pwd rm rmdir sed sleep sort tail tee test touch tr true uname wc whoami; do
    ln -s busybox "$root/bin/$applet"
  done
  pack workload "$root" --cmd '["/bin/sh"]' --user 65532:65532 --env PATH=/bin \
    --workdir / --label "org.opencontainers.image.description=Zhisuan demo workload (busybox shell)"
}

# build_program NAME USER PORT DESCRIPTION
build_program() {
  local name="$1" user="$2" port="$3" description="$4" root="$WORK/$1"
  local binary="$BUILD_DIR/$(binary_of "$name")" program
  program="/usr/bin/$(basename "$binary")"
  base_rootfs "$root"
  mkdir -p "$root/usr/bin" "$root/etc/ssl/certs"
  # Debug info only, as images/*/Dockerfile: symbols stay for stack traces.
  strip --strip-debug -o "$root$program" "$binary"
  copy_shared_libraries "$binary" "$root"
  cp "$CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"
  # No /usr/lib/ssl in the image, so OpenSSL's default CA path would be empty without this.
  pack "$name" "$root" --entrypoint "[\"$program\"]" --user "$user" --expose "$port/tcp" \
    --env PATH=/usr/sbin:/usr/bin:/sbin:/bin --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    --label "org.opencontainers.image.description=$description"
}

build_image() {
  case "$1" in
    pause) build_pause ;;
    workload) build_workload ;;
    # Root, on purpose: NVML and DCMI open root-owned device nodes (/dev/nvidiactl,
    # /dev/davinci*) and the kubelet's device-plugin socket directory is root-only. The chart
    # drops every capability and keeps the root filesystem read-only instead (docs/security.md).
    agent) build_program agent 0:0 9400 \
      "Zhisuan node agent: accelerators, FLOPS, health, energy" ;;
    # 65532 is the chart's runAsUser; numeric, so runAsNonRoot can verify it without a passwd lookup.
    controller) build_program controller 65532:65532 8080 "Zhisuan ComputePool controller" ;;
  esac
}

main() {
  (($# >= 2)) || usage
  BUILD_DIR="$(cd "$1" 2>/dev/null && pwd)" || die "BUILD_DIR $1: no such directory"
  local out="$2"
  shift 2
  IMAGES=("$@")
  ((${#IMAGES[@]} > 0)) || IMAGES=("${ALL_IMAGES[@]}")
  check_inputs
  mkdir -p "$out"
  OUT_DIR="$(cd "$out" && pwd)"
  set_version
  WORK="$(mktemp -d "$OUT_DIR/.work.XXXXXX")"
  trap 'rm -rf "$WORK"' EXIT
  local image
  for image in "${IMAGES[@]}"; do
    build_image "$image"
  done
}

main "$@"
