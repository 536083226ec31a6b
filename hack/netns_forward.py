#!/usr/bin/env python3
"""Byte forwarders that join a node's network namespace to the root one through Unix sockets.

A node started by hack/node.sh has no route to or from the root network namespace (the network
rule: nothing leaves loopback and the namespaces we create). Unix socket paths, though, are file
system names and work across network namespaces, so three small forwarders bridge the gap:

  tcp-to-unix   --listen HOST:PORT --unix PATH
      Run inside the node namespace: accepts TCP (10.96.0.1:443, the `kubernetes` Service) and
      relays each connection to PATH.
  unix-to-tcp   --unix PATH --connect HOST:PORT
      Run in the root namespace: accepts on PATH and relays to the API server on 127.0.0.1.
  connect-proxy --unix PATH --allow CIDR [--allow CIDR ...]
      Run inside the node namespace: an HTTP CONNECT proxy on PATH, the API server's `cluster`
      egress (kubectl logs/exec reach the kubelet through it). CONNECT to an address outside the
      allowed networks is answered 403, so the API server cannot be used to reach anything else.

TLS is end to end; the forwarders only copy bytes. Standard library only.
"""
import argparse
import asyncio
import ipaddress
import os
import signal
import sys


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except (ConnectionError, OSError):
            pass


async def splice(client_reader, client_writer, upstream_reader, upstream_writer):
    await asyncio.gather(pipe(client_reader, upstream_writer), pipe(upstream_reader, client_writer))


def relay(connect):
    async def handle(reader, writer):
        try:
            upstream_reader, upstream_writer = await connect()
        except OSError as error:
            print(f"upstream connect failed: {error}", file=sys.stderr, flush=True)
            writer.close()
            return
        await splice(reader, writer, upstream_reader, upstream_writer)

    return handle


def connect_proxy(allowed):
    async def handle(reader, writer):
        async def answer(status):
            writer.write(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n".encode())
            await writer.drain()
            writer.close()

        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError):
            writer.close()
            return
        request = head.split(b"\r\n", 1)[0].decode("latin-1").split()
        if len(request) != 3 or request[0] != "CONNECT":
            await answer("405 Method Not Allowed")
            return
        host, _, port = request[1].rpartition(":")
        try:
            address = ipaddress.ip_address(host.strip("[]"))
            port = int(port)
        except ValueError:
            await answer("403 Forbidden")  # names are never resolved: no DNS leaves the machine
            return
        if not any(address in network for network in allowed):
            print(f"refused CONNECT {request[1]}", file=sys.stderr, flush=True)
            await answer("403 Forbidden")
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(str(address), port)
        except OSError as error:
            print(f"CONNECT {request[1]} failed: {error}", file=sys.stderr, flush=True)
            await answer("502 Bad Gateway")
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await splice(reader, writer, upstream_reader, upstream_writer)

    return handle


def split_host_port(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


async def serve(args):
    if args.mode == "tcp-to-unix":
        host, port = split_host_port(args.listen)
        server = await asyncio.start_server(
            relay(lambda: asyncio.open_unix_connection(args.unix)), host, port)
    else:
        if os.path.exists(args.unix):
            os.unlink(args.unix)  # a stale socket from a killed forwarder
        if args.mode == "unix-to-tcp":
            host, port = split_host_port(args.connect)
            handler = relay(lambda: asyncio.open_connection(host, port))
        else:
            handler = connect_proxy([ipaddress.ip_network(cidr) for cidr in args.allow])
        server = await asyncio.start_unix_server(handler, args.unix)
        os.chmod(args.unix, 0o600)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    print(f"{args.mode} ready", flush=True)
    async with server:
        await stop.wait()
    if args.mode != "tcp-to-unix" and os.path.exists(args.unix):
        os.unlink(args.unix)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["tcp-to-unix", "unix-to-tcp", "connect-proxy"])
    parser.add_argument("--listen", help="HOST:PORT (tcp-to-unix)")
    parser.add_argument("--connect", help="HOST:PORT (unix-to-tcp)")
    parser.add_argument("--unix", required=True, help="Unix socket path")
    parser.add_argument("--allow", action="append", default=[], help="CIDR (connect-proxy)")
    args = parser.parse_args()
    if args.mode == "tcp-to-unix" and not args.listen:
        parser.error("tcp-to-unix needs --listen")
    if args.mode == "unix-to-tcp" and not args.connect:
        parser.error("unix-to-tcp needs --connect")
    if args.mode == "connect-proxy" and not args.allow:
        parser.error("connect-proxy needs at least one --allow")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
