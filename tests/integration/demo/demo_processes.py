#!/usr/bin/env python3
"""What `hack/demo.sh up` left running, and proof that `down` stopped all of it.

    demo_processes.py snapshot DEMO_DIR OUT.json [--expect-groups N]
        Every process of the demo: the process groups recorded in DEMO_DIR/pids.d (each start
        uses setsid, so a recorded pid is its group's id) and the control plane's
        DEMO_DIR/control-plane/pids, every member of those groups, and the TCP ports they listen
        on plus the ports the demo's files name (Prometheus targets and URL, the API server).
        Fails unless every recorded group is alive (and there are N of them, when given).
    demo_processes.py stopped DEMO_DIR SNAPSHOT.json
        Fails, with a table, on any process that is still running (zombies, already exited, do
        not count) whose command line mentions DEMO_DIR, any process of the snapshot that is still
        running, and any of the snapshot's ports that is still listening.
    demo_processes.py same SNAPSHOT_A.json SNAPSHOT_B.json
        Fails unless both snapshots hold the same processes (`up` on a running demo started
        nothing and stopped nothing).

Linux only: it reads /proc.
"""
import glob
import json
import os
import re
import socket
import sys


def read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError:
        return None


def proc_stat(pid):
    """(state, pgid, start time in clock ticks) of a pid, or None when it does not exist."""
    text = read(f"/proc/{pid}/stat")
    if text is None:
        return None
    fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) "
    return fields[0], int(fields[2]), int(fields[19])


def cmdline(pid):
    raw = read(f"/proc/{pid}/cmdline", "rb")
    return raw.replace(b"\0", b" ").decode(errors="replace").strip() if raw else ""


def running(pid):
    stat = proc_stat(pid)
    return stat is not None and stat[0] != "Z"


def all_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def ancestors():
    """This process and its ancestors: their command lines may name the demo dir."""
    out, pid = set(), os.getpid()
    while pid > 1:
        out.add(pid)
        text = read(f"/proc/{pid}/stat")
        if text is None:
            break
        pid = int(text[text.rindex(")") + 2:].split()[1])
    return out


def recorded_pids(demo):
    out = {}
    for path in sorted(glob.glob(os.path.join(demo, "pids.d", "*"))):
        text = (read(path) or "").strip()
        if text.isdigit():
            out[f"pids.d/{os.path.basename(path)}"] = int(text)
    for i, text in enumerate((read(os.path.join(demo, "control-plane", "pids")) or "").split()):
        if text.isdigit():
            out[f"control-plane/pids[{i}]"] = int(text)
    return out


def listening_ports():
    """{socket inode: port} of every TCP socket in LISTEN state."""
    out = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in (read(table) or "").splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":
                out[int(fields[9])] = int(fields[1].rsplit(":", 1)[1], 16)
    return out


def ports_of(pids):
    listening, out = listening_ports(), set()
    for pid in pids:
        for fd in glob.glob(f"/proc/{pid}/fd/*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            m = re.fullmatch(r"socket:\[(\d+)\]", target)
            if m and int(m.group(1)) in listening:
                out.add(listening[int(m.group(1))])
    return out


def named_ports(demo):
    """Ports the demo's files name: scrape targets, Prometheus, the API server."""
    out = set()
    for path in ("prometheus/prometheus.yml", "prometheus-url", "control-plane/admin.kubeconfig"):
        out.update(int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", read(os.path.join(demo, path)) or ""))
    return out


def snapshot(demo, out_path, expect_groups):
    failures = []
    recorded = recorded_pids(demo)
    processes = {}
    groups = {pid for pid in recorded.values()}
    for pid in all_pids():
        stat = proc_stat(pid)
        if stat and stat[0] != "Z" and stat[1] in groups:
            processes[pid] = {"start": stat[2], "pgid": stat[1], "cmdline": cmdline(pid)}
    for name, pid in recorded.items():
        if not any(p["pgid"] == pid for p in processes.values()):
            failures.append(f"{name}: process group {pid} has no running process")
    pid_groups = [p for n, p in recorded.items() if n.startswith("pids.d/")]
    if expect_groups is not None and len(pid_groups) != expect_groups:
        failures.append(f"pids.d records {len(pid_groups)} process groups, expected {expect_groups}")
    ports = sorted(ports_of(processes) | named_ports(demo))
    with open(out_path, "w") as f:
        json.dump({"recorded": recorded, "processes": {str(k): v for k, v in processes.items()},
                   "ports": ports}, f, indent=1)
    print(f"{len(recorded)} recorded process groups, {len(processes)} processes, "
          f"{len(ports)} ports: {' '.join(map(str, ports))}")
    for failure in failures:
        print(f"FAIL {failure}")
    return 1 if failures else 0


def port_open(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def stopped(demo, snapshot_path):
    with open(snapshot_path) as f:
        snap = json.load(f)
    rows, skip = [], ancestors()
    spellings = {os.path.abspath(demo), os.path.realpath(demo)}  # TMPDIR may be a symlink
    for pid in all_pids():
        if pid in skip or not running(pid):
            continue
        line = cmdline(pid)
        if any(d in line for d in spellings):
            rows.append((pid, "names the demo dir", line[:160]))
    for pid, info in snap["processes"].items():
        stat = proc_stat(int(pid))
        if stat and stat[0] != "Z" and stat[2] == info["start"]:  # the same process, not a reuse
            rows.append((pid, f"recorded (group {info['pgid']})", info["cmdline"][:160]))
    for name, pid in snap["recorded"].items():
        members = [p for p in all_pids() if (s := proc_stat(p)) and s[0] != "Z" and s[1] == pid]
        if members:
            rows.append((pid, f"process group of {name}", f"members {members}"))
    listening = set(listening_ports().values())
    for port in snap["ports"]:
        if port in listening or port_open(port):
            rows.append((port, "port still listening", ""))
    if rows:
        print(f"FAIL: {len(rows)} thing(s) left behind after `demo.sh down`:")
        for row in sorted(set(rows), key=str):
            print("  " + "  ".join(str(x) for x in row))
        return 1
    print(f"nothing left: {len(snap['processes'])} processes gone, "
          f"{len(snap['ports'])} ports closed, no process names {demo}")
    return 0


def same(a_path, b_path):
    with open(a_path) as f:
        a = json.load(f)
    with open(b_path) as f:
        b = json.load(f)
    key = lambda snap: {(pid, p["start"]) for pid, p in snap["processes"].items()}  # noqa: E731
    if a["recorded"] != b["recorded"] or key(a) != key(b):
        print("FAIL: the demo's processes changed:")
        print(f"  recorded before {a['recorded']}\n  recorded after  {b['recorded']}")
        print(f"  gone {sorted(key(a) - key(b))}\n  new  {sorted(key(b) - key(a))}")
        return 1
    print(f"same {len(a['processes'])} processes")
    return 0


def main(argv):
    if len(argv) >= 4 and argv[1] == "snapshot":
        expect = int(argv[5]) if len(argv) == 6 and argv[4] == "--expect-groups" else None
        return snapshot(argv[2], argv[3], expect)
    if len(argv) == 4 and argv[1] == "stopped":
        return stopped(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "same":
        return same(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
