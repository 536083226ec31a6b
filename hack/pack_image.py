#!/usr/bin/env python3
"""Pack a root filesystem directory into a docker-archive tarball (the `docker save` format).

    pack_image.py --rootfs DIR --tag REPO:TAG --output FILE.tar [--entrypoint JSON] [--cmd JSON]
                  [--user UID[:GID]] [--env K=V]... [--workdir DIR] [--expose PORT/PROTO]...
                  [--label K=V]... [--created RFC3339]

The result loads with `ctr -n k8s.io images import FILE.tar` (containerd) or `docker load`. It
prints the image ID (sha256 of the config) on stdout.

The output is a function of its inputs only, so one commit gives one image ID on any machine with
the same files: entries are sorted by name, every mtime is 0, every owner is 0:0, and modes are
normalised (0755 for directories and executables, 0644 for other files, 1777 for sticky
directories), which also keeps every file readable by a non-root image user. The single layer is
stored uncompressed: its digest is the sha256 of the layer tar, which is also its diff_id.
Python standard library only, so it runs wherever the build does.
"""

import argparse
import hashlib
import io
import json
import os
import re
import stat
import sys
import tarfile
import tempfile

EPOCH = "1970-01-01T00:00:00Z"
# Docker's reference grammar, simplified: lowercase repository path, optional tag.
TAG_RE = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*"
                    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$")


def die(message):
    print(f"pack_image.py: {message}", file=sys.stderr)
    sys.exit(1)


def normalised_info(name, st):
    """A TarInfo for `name` with owner, time and mode that do not depend on the host."""
    info = tarfile.TarInfo(name)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    if stat.S_ISDIR(st.st_mode):
        info.type = tarfile.DIRTYPE
        info.mode = 0o1777 if st.st_mode & stat.S_ISVTX else 0o755
    elif stat.S_ISLNK(st.st_mode):
        info.type = tarfile.SYMTYPE
        info.mode = 0o777
    elif stat.S_ISREG(st.st_mode):
        info.type = tarfile.REGTYPE
        info.size = st.st_size
        info.mode = 0o755 if st.st_mode & 0o111 else 0o644
    else:
        # Device nodes, FIFOs and sockets come from the runtime, never from an image layer.
        die(f"{name}: not a file, directory or symlink")
    return info


def walk(root, rel=""):
    """Every path under root, parents before children, siblings in byte order."""
    directory = os.path.join(root, rel) if rel else root
    for name in sorted(os.listdir(directory), key=os.fsencode):
        path = f"{rel}/{name}" if rel else name
        yield path
        if os.path.isdir(os.path.join(root, path)) and not os.path.islink(os.path.join(root, path)):
            yield from walk(root, path)


def write_layer(rootfs, layer_file):
    """Writes the rootfs as an uncompressed tar into layer_file."""
    with tarfile.open(fileobj=layer_file, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in walk(rootfs):
            full = os.path.join(rootfs, path)
            st = os.lstat(full)
            info = normalised_info(path, st)
            if info.type == tarfile.SYMTYPE:
                info.linkname = os.readlink(full)
                tar.addfile(info)
            elif info.type == tarfile.REGTYPE:
                with open(full, "rb") as data:
                    tar.addfile(info, data)
            else:
                tar.addfile(info)


def sha256_of(file_obj):
    file_obj.seek(0)
    digest = hashlib.sha256()
    for block in iter(lambda: file_obj.read(1 << 20), b""):
        digest.update(block)
    file_obj.seek(0)
    return digest.hexdigest()


def canonical_json(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def key_values(pairs, what):
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            die(f"--{what} {pair!r}: expected KEY=VALUE")
        result[key] = value
    return result


def json_list(text, what):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        die(f"--{what}: not JSON: {err}")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        die(f"--{what}: expected a JSON array of strings, e.g. '[\"/bin/sh\"]'")
    return value


def image_config(args, diff_id):
    config = {}
    if args.user:
        config["User"] = args.user
    env = key_values(args.env, "env")
    if env:
        # Kept in the given order: a later entry may refer to an earlier one.
        config["Env"] = [f"{k}={v}" for k, v in env.items()]
    if args.entrypoint is not None:
        config["Entrypoint"] = json_list(args.entrypoint, "entrypoint")
    if args.cmd is not None:
        config["Cmd"] = json_list(args.cmd, "cmd")
    if args.workdir:
        config["WorkingDir"] = args.workdir
    if args.expose:
        config["ExposedPorts"] = {p if "/" in p else f"{p}/tcp": {} for p in args.expose}
    labels = key_values(args.label, "label")
    if labels:
        config["Labels"] = labels
    return {
        "architecture": "amd64",
        "os": "linux",
        "created": args.created,
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
        "history": [{"created": args.created, "created_by": "hack/pack_image.py"}],
    }


def add_bytes(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 0
    tar.addfile(info, io.BytesIO(data))


def split_tag(tag):
    repo, sep, version = tag.rpartition(":")
    if not sep or "/" in version:
        return tag, "latest"
    return repo, version


def write_archive(output, tag, config_bytes, layer_file, diff_id):
    config_hex = hashlib.sha256(config_bytes).hexdigest()
    repo, version = split_tag(tag)
    manifest = [{"Config": f"{config_hex}.json", "RepoTags": [f"{repo}:{version}"],
                 "Layers": [f"{diff_id}/layer.tar"]}]
    tmp = f"{output}.tmp"
    with tarfile.open(tmp, mode="w", format=tarfile.PAX_FORMAT) as tar:
        # Names in sorted order; importers read the whole archive before resolving manifest.json.
        layer_dir = tarfile.TarInfo(diff_id)
        layer_dir.type, layer_dir.mode, layer_dir.mtime = tarfile.DIRTYPE, 0o755, 0
        tar.addfile(layer_dir)
        layer = tarfile.TarInfo(f"{diff_id}/layer.tar")
        layer.size = os.fstat(layer_file.fileno()).st_size
        layer.mode, layer.mtime = 0o644, 0
        tar.addfile(layer, layer_file)
        add_bytes(tar, f"{config_hex}.json", config_bytes)
        add_bytes(tar, "manifest.json", canonical_json(manifest))
        add_bytes(tar, "repositories", canonical_json({repo: {version: diff_id}}))
    os.replace(tmp, output)
    return config_hex


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rootfs", required=True, help="directory that becomes the image's /")
    p.add_argument("--tag", required=True, help="REPOSITORY:TAG, e.g. zhisuan.local/pause:0.1.0")
    p.add_argument("--output", required=True, help="docker-archive tarball to write")
    p.add_argument("--entrypoint", help="JSON array, e.g. '[\"/usr/bin/zhisuan-agent\"]'")
    p.add_argument("--cmd", help="JSON array, e.g. '[\"/bin/sh\"]'")
    p.add_argument("--user", help="UID[:GID]; numeric, so runAsNonRoot can verify it")
    p.add_argument("--env", action="append", default=[], help="KEY=VALUE (repeatable)")
    p.add_argument("--workdir", help="working directory")
    p.add_argument("--expose", action="append", default=[], help="PORT[/PROTO] (repeatable)")
    p.add_argument("--label", action="append", default=[], help="KEY=VALUE (repeatable)")
    p.add_argument("--created", default=EPOCH, help=f"config creation time (default {EPOCH})")
    args = p.parse_args(argv)
    if not os.path.isdir(args.rootfs):
        die(f"--rootfs {args.rootfs}: no such directory")
    if not TAG_RE.match(args.tag):
        die(f"--tag {args.tag!r}: not a valid image reference")
    return args


def main(argv):
    args = parse_args(argv)
    out_dir = os.path.dirname(os.path.abspath(args.output))
    with tempfile.TemporaryFile(dir=out_dir) as layer_file:
        write_layer(args.rootfs, layer_file)
        layer_file.flush()
        diff_id = sha256_of(layer_file)
        config_bytes = canonical_json(image_config(args, diff_id))
        image_id = write_archive(args.output, args.tag, config_bytes, layer_file, diff_id)
    print(f"sha256:{image_id}")


if __name__ == "__main__":
    main(sys.argv[1:])
