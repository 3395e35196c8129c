#!/usr/bin/env python3
"""Peer WebSocket echo server for the wsloop test suite (Python `websockets`).

Usage: python3 py_echo.py [--host 127.0.0.1] [--port 0] [--deflate]
       python3 py_echo.py --unix /path/to.sock|@abstract-name [--cert C --key K]

Prints exactly one line `listening <port>` on stdout once bound (port 0 on a
Unix socket), echoes every
message with its type (text stays text, binary stays binary), and exits when
stdin reaches EOF or after 300 s, whichever comes first. Diagnostics go to
stderr only. Keepalive pings are disabled so that the peer's behaviour is
deterministic; incoming messages may be up to 64 MiB. Compression is off
unless --deflate is given: then permessage-deflate is accepted with
`websockets`' defaults: context takeover both ways, server_max_window_bits=12
and client_max_window_bits=12 (when the client offers it), every message
compressed. On a Unix socket the first message to each client is
`host: <its Host header>`. With --cert and --key it speaks TLS.
"""

import argparse
import asyncio
import os
import ssl
import sys
import threading

try:
    from websockets.asyncio.server import serve, unix_serve  # websockets >= 13
except ImportError:  # pragma: no cover - older websockets
    from websockets import serve, unix_serve  # type: ignore

from websockets.exceptions import ConnectionClosed

MAX_LIFETIME_S = 300
MAX_MESSAGE = 64 * 1024 * 1024


def _watch_stdin() -> None:
    # Blocks until the parent closes our stdin (or dies), then exits hard.
    try:
        while sys.stdin.buffer.read(65536):
            pass
    except Exception:
        pass
    os._exit(0)


def _lifetime_exceeded() -> None:
    print("py_echo: maximum lifetime reached, exiting", file=sys.stderr, flush=True)
    os._exit(0)


async def echo(ws) -> None:
    try:
        async for message in ws:
            await ws.send(message)  # str -> text frame, bytes -> binary frame
    except ConnectionClosed:
        pass


async def echo_with_host(ws) -> None:
    await ws.send("host: " + ws.request.headers.get("Host", ""))
    await echo(ws)


async def main_unix(args: argparse.Namespace) -> None:
    tls = None
    if args.cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.cert, args.key)
    # "@name" is a name in Linux' abstract namespace.
    path = "\0" + args.unix[1:] if args.unix.startswith("@") else args.unix
    async with unix_serve(
        echo_with_host,
        path,
        ssl=tls,
        compression=None,
        ping_interval=None,
        max_size=MAX_MESSAGE,
    ):
        print("listening 0", flush=True)
        await asyncio.Future()  # run until os._exit()


async def main(args: argparse.Namespace) -> None:
    if args.unix:
        await main_unix(args)
        return
    async with serve(
        echo,
        args.host,
        args.port,
        compression="deflate" if args.deflate else None,
        ping_interval=None,
        max_size=MAX_MESSAGE,
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"listening {port}", flush=True)
        await asyncio.Future()  # run until os._exit()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--unix")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--deflate", action="store_true", help="accept permessage-deflate")
    cli_args = parser.parse_args()
    timer = threading.Timer(MAX_LIFETIME_S, _lifetime_exceeded)
    timer.daemon = True
    timer.start()
    threading.Thread(target=_watch_stdin, daemon=True).start()
    asyncio.run(main(cli_args))
