#!/usr/bin/env bash
# The local images (hack/images.sh, docs/images.md): builds all four from this build tree and
# checks that
#   - each tarball is a well-formed docker archive: manifest, config and layer digests match the
#     bytes, the tag names this commit, owners are 0:0, mtimes 0, every file is world-readable;
#   - each image runs from its own files alone: the binaries start under chroot with an empty
#     environment (so the ldd closure is complete), the workload shell answers, the pause process
#     exits 0 on SIGTERM and SIGINT;
#   - the controller runs as 65532, and no image carries a vendor library (NVML, DCMI, CUDA);
#   - two builds give the same bytes;
#   - a missing binary is named in the error;
#   - where containerd is installed, a throwaway containerd (its own root, state and socket under
#     a temp dir, CRI disabled) imports and unpacks every image and lists its tag.
# Needs root (chroot). Nothing here uses the network.
set -euo pipefail
# shellcheck source=../chart/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../chart/common.sh"
: "${ZHISUAN_BINARY_DIR:?run through ctest (ZHISUAN_BINARY_DIR)}"

IMAGES_SH="$ZHISUAN_SOURCE_DIR/hack/images.sh"
NAMES=(pause workload agent controller)
TMP="$(mktemp -d "${TMPDIR:-/tmp}/zhisuan-images.XXXXXX")"
CONTAINERD_PID=""

stop_containerd() {
  if [[ -n "$CONTAINERD_PID" ]]; then
    kill -TERM "$CONTAINERD_PID" 2>/dev/null || true
    wait "$CONTAINERD_PID" 2>/dev/null || true
    CONTAINERD_PID=""
  fi
}
cleanup() {
  stop_containerd
  rm -rf "$TMP"
}
trap cleanup EXIT

# chroot and containerd need root; make test runs as root on CI and the development VM, so a
# non-root run is an environment error, not a pass.
if ((EUID != 0)); then
  echo "FAIL: run as root (chroot and containerd need it)" >&2
  exit 1
fi
CHROOT="$(command -v chroot || echo /usr/sbin/chroot)"

# build_images OUT_DIR: runs images.sh; its stdout lands in OUT_DIR.lines. Without images there
# is nothing left to check, so a failure ends the test.
build_images() {
  local out="$1"
  if ! "$IMAGES_SH" "$ZHISUAN_BINARY_DIR" "$out" >"$out.lines" 2>"$out.err"; then
    fail "hack/images.sh $ZHISUAN_BINARY_DIR $out failed: $(cat "$out.err" 2>/dev/null)"
    finish
  fi
  pass "hack/images.sh built ${NAMES[*]} into $out"
}

# The tag every image must carry: appVersion, then the short commit (and -dirty) in a checkout.
expected_version() {
  local version
  version="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$CHART/Chart.yaml")"
  if git -C "$ZHISUAN_SOURCE_DIR" rev-parse -q --verify HEAD >/dev/null 2>&1; then
    version="$version-$(git -C "$ZHISUAN_SOURCE_DIR" rev-parse --short=7 HEAD)"
    [[ -z "$(git -C "$ZHISUAN_SOURCE_DIR" status --porcelain)" ]] || version="$version-dirty"
  fi
  echo "$version"
}

check_lines() {
  local out="$1" version name want
  version="$(expected_version)"
  want=""
  for name in "${NAMES[@]}"; do
    want+="$name zhisuan.local/$name:$version $out/$name.tar"$'\n'
  done
  if [[ "$(cat "$out.lines")"$'\n' == "$want" ]]; then
    pass "one line per image: <name> zhisuan.local/<name>:$version <path>"
  else
    fail "images.sh printed:"$'\n'"$(cat "$out.lines")"$'\n'"expected:"$'\n'"$want"
  fi
}

# check_archives OUT_DIR: the docker-archive structure, digests, configs and layer entries.
check_archives() {
  local revision=""
  revision="$(git -C "$ZHISUAN_SOURCE_DIR" rev-parse -q --verify HEAD 2>/dev/null)" || true
  python3 - "$1" "$revision" <<'EOF' || failures=$((failures + 1))
import hashlib, io, json, re, sys, tarfile
out, revision = sys.argv[1], sys.argv[2]
# name: (User, Entrypoint, Cmd)
want = {"pause": ("65535:65535", ["/pause"], None),
        "workload": ("65532:65532", None, ["/bin/sh"]),
        "agent": ("0:0", ["/usr/bin/zhisuan-agent"], None),
        "controller": ("65532:65532", ["/usr/bin/zhisuan-controller"], None)}
vendor = re.compile(r"^(libnvidia-ml|libdcmi|libcuda)")
bad = 0
def check(ok, what):
    global bad
    print(("ok: " if ok else "FAIL: ") + what, file=sys.stdout if ok else sys.stderr)
    bad += not ok
lines = dict((l.split()[0], l.split()[1]) for l in open(out + ".lines"))
for name, (user, entrypoint, cmd) in want.items():
    with tarfile.open(f"{out}/{name}.tar") as archive:
        read = lambda member: archive.extractfile(member).read()
        manifest = json.loads(read("manifest.json"))
        check(len(manifest) == 1 and manifest[0]["RepoTags"] == [lines[name]],
              f"{name}: manifest.json names one image, {lines[name]}")
        config_bytes = read(manifest[0]["Config"])
        config = json.loads(config_bytes)
        check(manifest[0]["Config"] == hashlib.sha256(config_bytes).hexdigest() + ".json",
              f"{name}: config file name is its sha256 (the image ID)")
        layers = [read(path) for path in manifest[0]["Layers"]]
        check([f"sha256:{hashlib.sha256(l).hexdigest()}" for l in layers]
              == config["rootfs"]["diff_ids"] and config["rootfs"]["type"] == "layers",
              f"{name}: rootfs.diff_ids are the sha256 of the {len(layers)} layer tar(s)")
        check((config["architecture"], config["os"]) == ("amd64", "linux"), f"{name}: linux/amd64")
        c = config["config"]
        check(c.get("User") == user, f"{name}: User {c.get('User')!r}, want {user!r}")
        check(c.get("Entrypoint") == entrypoint and c.get("Cmd") == cmd,
              f"{name}: Entrypoint {c.get('Entrypoint')} Cmd {c.get('Cmd')}")
        if revision:
            check(c.get("Labels", {}).get("org.opencontainers.image.revision") == revision,
                  f"{name}: label org.opencontainers.image.revision={revision}")
        for layer in layers:
            members = tarfile.open(fileobj=io.BytesIO(layer)).getmembers()
            names = [m.name for m in members]
            check(names == sorted(names, key=lambda n: n.split("/")), f"{name}: layer entries sorted")
            check(all(m.uid == 0 and m.gid == 0 and m.mtime == 0 for m in members),
                  f"{name}: every layer entry is owned by 0:0 with mtime 0")
            check(all(m.mode & 0o444 == 0o444 for m in members if m.isfile()),
                  f"{name}: every file is readable by a non-root user")
            found = [n for n in names if vendor.match(n.rsplit("/", 1)[-1])]
            check(not found, f"{name}: no libnvidia-ml*, libdcmi*, libcuda* in the image {found}")
sys.exit(1 if bad else 0)
EOF
}

# extract OUT_DIR NAME: the image's rootfs under $TMP/rootfs/NAME (layers in order).
extract() {
  local tarball="$1/$2.tar" root="$TMP/rootfs/$2" layer
  mkdir -p "$root"
  for layer in $(python3 -c 'import json,sys,tarfile
print(" ".join(json.load(tarfile.open(sys.argv[1]).extractfile("manifest.json"))[0]["Layers"]))' \
    "$tarball"); do
    tar -xOf "$tarball" "$layer" | tar -x -C "$root"
  done
  echo "$root"
}

# run_in ROOT USERSPEC EXPECTED COMMAND...: COMMAND in the rootfs with an empty environment and a
# /proc, as a container has: under `make test-asan` the images carry the sanitized binaries, whose
# runtime reads its options and LeakSanitizer its threads from /proc. The proc mount lives in a
# mount namespace of its own, so it goes away with the command.
run_in() {
  local root="$1" user="$2" want="$3" out
  shift 3
  mkdir -p "$root/proc"
  if out="$(env -i unshare --mount -- /bin/sh -c \
    'root=$1; shift; mount -t proc proc "$root/proc" && exec "$@"' sh \
    "$root" "$CHROOT" --userspec="$user" "$root" "$@" 2>&1)" &&
    [[ "$out" == *"$want"* ]]; then
    pass "chroot ${root##*/} as $user: $* -> $out"
  else
    fail "chroot ${root##*/} as $user: $* printed '$out', expected '$want'"
  fi
}

# check_pause ROOT SIGNAL: pause keeps running until SIGNAL, then exits 0.
check_pause() {
  local root="$1" signal="$2" pid rc=0
  env -i "$CHROOT" "$root" /pause &
  pid=$!
  sleep 0.3
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" || true
    fail "pause exited by itself"
    return
  fi
  kill -"$signal" "$pid"
  wait "$pid" || rc=$?
  if ((rc == 0)); then pass "pause ran until SIG$signal, then exited 0"; else fail "pause: SIG$signal -> exit $rc"; fi
}

check_runs() {
  local out="$1" root
  root="$(extract "$out" agent)"
  run_in "$root" 0:0 "zhisuan-agent " /usr/bin/zhisuan-agent --version
  root="$(extract "$out" controller)"
  run_in "$root" 65532:65532 "zhisuan-controller " /usr/bin/zhisuan-controller --version
  root="$(extract "$out" workload)"
  run_in "$root" 65532:65532 ok /bin/sh -c 'echo ok'
  # No /dev here (the runtime provides it), so no >/dev/null in these commands.
  run_in "$root" 65532:65532 65532 /bin/sh -c 'ls / | grep -qx tmp && id -u'
  root="$(extract "$out" pause)"
  check_pause "$root" TERM
  check_pause "$root" INT
}

check_deterministic() {
  local first="$1" second="$2" name a b
  for name in "${NAMES[@]}"; do
    a="$(sha256sum <"$first/$name.tar")" b="$(sha256sum <"$second/$name.tar")"
    if [[ "$a" == "$b" ]]; then pass "$name.tar identical in two builds (${a%% *})"; else fail "$name.tar differs between two builds"; fi
  done
}

check_missing_binary() {
  local err
  mkdir -p "$TMP/empty-build"
  if err="$("$IMAGES_SH" "$TMP/empty-build" "$TMP/never" controller 2>&1)"; then
    fail "images.sh succeeded without a controller binary"
  elif [[ "$err" == *"$TMP/empty-build/controller/zhisuan-controller not found"* ]]; then
    pass "a missing binary is named: $err"
  else
    fail "a missing binary is not named clearly: $err"
  fi
}

write_containerd_config() {
  local dir="$1"
  cat >"$dir/config.toml" <<EOF
version = 2
root = "$dir/root"
state = "$dir/state"
# Only the content store, snapshotters and images are needed; CRI would set up networking.
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$dir/c.sock"
[ttrpc]
  address = "$dir/c.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/opt"
# containerd 2 imports through its transfer service, which learns where to unpack from the CRI
# plugin; with CRI off it must be told (containerd 1.x ignores this table).
[plugins."io.containerd.transfer.v1.local"]
  [[plugins."io.containerd.transfer.v1.local".unpack_config]]
    platform = "linux/amd64"
    snapshotter = "native"
EOF
}

# check_containerd_import OUT_DIR: the node's import path, against a throwaway containerd.
check_containerd_import() {
  local out="$1" dir="$TMP/ctrd" ctr name tag i
  if ! command -v containerd >/dev/null || ! command -v ctr >/dev/null; then
    echo "skip: containerd/ctr not installed, import not checked"
    return
  fi
  mkdir -p "$dir"
  write_containerd_config "$dir"
  containerd --config "$dir/config.toml" >"$dir/log" 2>&1 &
  CONTAINERD_PID=$!
  ctr=(ctr -a "$dir/c.sock" -n k8s.io)
  for ((i = 0; i < 100; i++)); do
    "${ctr[@]}" version >/dev/null 2>&1 && break
    sleep 0.1
  done
  # native: a plain copy, so the unpack (which checks every diff_id) works on any filesystem.
  while read -r name tag _; do
    # The listing is read whole: `ctr ... | grep -q` could fail on SIGPIPE under pipefail.
    if "${ctr[@]}" images import --snapshotter native "$out/$name.tar" >"$dir/import.log" 2>&1 &&
      [[ $'\n'"$("${ctr[@]}" images ls -q)"$'\n' == *$'\n'"$tag"$'\n'* ]]; then
      pass "containerd imported and unpacked $name.tar; ctr images ls shows $tag"
    else
      fail "containerd import of $name.tar: $(cat "$dir/import.log"; "${ctr[@]}" images ls -q)"
    fi
  done <"$out.lines"
  stop_containerd
}

main() {
  build_images "$TMP/a"
  check_lines "$TMP/a"
  check_archives "$TMP/a"
  check_runs "$TMP/a"
  build_images "$TMP/b"
  check_deterministic "$TMP/a" "$TMP/b"
  check_missing_binary
  check_containerd_import "$TMP/a"
  finish
}

main
