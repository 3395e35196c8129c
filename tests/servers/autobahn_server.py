#!/usr/bin/env python3
"""The Autobahn test suite's fuzzing server (PyPI `kosoku`) for wsloop's tests.

Usage: python3 autobahn_server.py --out RESULTS.json [--reports DIR]
                                  [--host 127.0.0.1] [--port 0]
                                  [--include CASE]... [--exclude CASE]...
                                  [--max-lifetime SECONDS]

Serves the selected Autobahn cases (ids or `*` globs, e.g. `1.*`, `9.7.1`)
to a client that follows the fuzzing server protocol (`/getCaseCount`,
`/runCase?case=N&agent=A`, `/updateReports`). Prints exactly one line
`listening <port>` on stdout once bound. When the client has run every case,
writes RESULTS.json as `{"<case id>": {"behavior": ..., "behaviorClose": ...}}`
(the verdicts of Autobahn's `index.json`), and with --reports the full
Autobahn report (index.json and one HTML/JSON page per case) into DIR, then
exits. Exits early when stdin reaches EOF, and after --max-lifetime seconds
(default 900) in any case.
Diagnostics go to stderr only.
"""

import argparse
import asyncio
import json
import os
import sys
import threading

from kosoku import FailureError, run_fuzzingserver

DEFAULT_MAX_LIFETIME_S = 900


def _watch_stdin() -> None:
    try:
        while sys.stdin.buffer.read(65536):
            pass
    except Exception:
        pass
    os._exit(0)


def _lifetime_exceeded() -> None:
    print("autobahn_server: maximum lifetime reached, exiting", file=sys.stderr, flush=True)
    os._exit(3)


async def main(args: argparse.Namespace) -> None:
    async with run_fuzzingserver(
        args.include, args.exclude, host=args.host, port=args.port
    ) as server:
        print(f"listening {server.port}", flush=True)
        try:
            results = await server.get_result()
        except FailureError as failure:
            results = failure.results
    verdicts = {
        r.case_id: {
            "behavior": r.behavior.value,
            "behaviorClose": r.behavior_close.value,
        }
        for r in results
    }
    if args.reports:
        from kosoku._report import write_reports  # the CLI's report writer

        write_reports(results, args.reports)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(verdicts, f, indent=1, sort_keys=True)
    os.replace(tmp, args.out)  # the reader never sees half a file


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--include", action="append")
    parser.add_argument("--exclude", action="append")
    parser.add_argument("--out", required=True)
    parser.add_argument("--reports")
    parser.add_argument("--max-lifetime", type=float, default=DEFAULT_MAX_LIFETIME_S)
    cli_args = parser.parse_args()
    timer = threading.Timer(cli_args.max_lifetime, _lifetime_exceeded)
    timer.daemon = True
    timer.start()
    threading.Thread(target=_watch_stdin, daemon=True).start()
    try:
        asyncio.run(main(cli_args))
    except Exception as e:
        print(f"autobahn_server: {e!r}", file=sys.stderr, flush=True)
        os._exit(2)
    os._exit(0)  # not a normal exit: the stdin watcher holds stdin's lock
