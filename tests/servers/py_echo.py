#!/usr/bin/env python3
"""Peer WebSocket echo server for the wsloop test suite (Python `websockets`).

Usage: python3 py_echo.py [--host 127.0.0.1] [--port 0] [--deflate]

Prints exactly one line `listening <port>` on stdout once bound, echoes every
message with its type (text stays text, binary stays binary), and exits when
stdin reaches EOF or after 300 s, whichever comes first. Diagnostics go to
stderr only. Keepalive pings are disabled so that the peer's behaviour is
deterministic; incoming messages may be up to 64 MiB. Compression is off
unless --deflate is given: then permessage-deflate is accepted with
`websockets`' defaults: context takeover both ways, server_max_window_bits=12
and client_max_window_bits=12 (when the client offers it), every message
compressed.
"""

import argparse
import asyncio
import os
import sys
import threading

try:
    from websockets.asyncio.server import serve  # websockets >= 13
except ImportError:  # pragma: no cover - older websockets
    from websockets import serve  # type: ignore

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


async def main(args: argparse.Namespace) -> None:
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
    parser.add_argument("--deflate", action="store_true", help="accept permessage-deflate")
    cli_args = parser.parse_args()
    timer = threading.Timer(MAX_LIFETIME_S, _lifetime_exceeded)
    timer.daemon = True
    timer.start()
    threading.Thread(target=_watch_stdin, daemon=True).start()
    asyncio.run(main(cli_args))
