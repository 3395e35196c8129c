#!/usr/bin/env node
// Peer for wsloop's redirect and reconnect tests (Node + `ws` 8).
//
// Usage: node restart-server.js [--host 127.0.0.1] [--port 0]
//          [--rule PATH=STATUS:LOCATION]...   answer an upgrade request for PATH
//                                             (query included) with STATUS and that
//                                             Location (none when LOCATION is empty)
//          [--tls-cert FILE --tls-key FILE]   serve wss:// instead of ws://
//          [--drops N] [--close-code C]       end the first N WebSocket connections
//                                             100 ms after the upgrade: TCP reset, or a
//                                             Close frame with code C ("bye")
//          [--refuse-ms T]                    after the Nth, stop listening for T ms
//                                             (connections are refused), then listen
//                                             again on the same port
//
// Every WebSocket connection it keeps first gets the text message
// `at <path> host <Host header>`, then has its messages echoed.
// Prints exactly one line `listening <port>` on stdout once bound, and
// logs what it does on stderr. Exits when stdin closes or after 300 s.
'use strict';

const http = require('http');
const https = require('https');
const fs = require('fs');
const { WebSocketServer } = require('ws');

setTimeout(() => process.exit(0), 300 * 1000);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

const opts = { host: '127.0.0.1', port: 0, rules: new Map(), drops: 0, closeCode: 0, refuseMs: 0 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const v = () => argv[++i];
  switch (argv[i]) {
    case '--host': opts.host = v(); break;
    case '--port': opts.port = Number(v()); break;
    case '--rule': {
      const m = /^(.*?)=(\d{3}):(.*)$/.exec(v());
      if (!m) {
        process.stderr.write('restart-server: --rule takes PATH=STATUS:LOCATION\n');
        process.exit(2);
      }
      opts.rules.set(m[1], { status: Number(m[2]), location: m[3] });
      break;
    }
    case '--tls-cert': opts.cert = v(); break;
    case '--tls-key': opts.key = v(); break;
    case '--drops': opts.drops = Number(v()); break;
    case '--close-code': opts.closeCode = Number(v()); break;
    case '--refuse-ms': opts.refuseMs = Number(v()); break;
    default:
      process.stderr.write(`restart-server: unknown argument ${argv[i]}\n`);
      process.exit(2);
  }
}

const log = (...a) => process.stderr.write(`[restart-server ${process.pid}] ${a.join(' ')}\n`);
const server = opts.cert
  ? https.createServer({ cert: fs.readFileSync(opts.cert), key: fs.readFileSync(opts.key) })
  : http.createServer();
const wss = new WebSocketServer({ noServer: true });
let accepted = 0;
let port = opts.port;

server.on('upgrade', (req, socket, head) => {
  const rule = opts.rules.get(req.url);
  if (rule) {
    log(`${req.url}: ${rule.status} -> '${rule.location}'`);
    const loc = rule.location ? `Location: ${rule.location}\r\n` : '';
    socket.end(`HTTP/1.1 ${rule.status} Redirect\r\n${loc}Content-Length: 0\r\nConnection: close\r\n\r\n`);
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    accepted += 1;
    const n = accepted;
    log(`${req.url}: WebSocket connection ${n}`);
    if (n <= opts.drops) {
      setTimeout(() => {
        if (opts.closeCode) ws.close(opts.closeCode, 'bye');
        else ws._socket.resetAndDestroy();
        if (n === opts.drops && opts.refuseMs > 0) {
          log(`refusing for ${opts.refuseMs} ms`);
          server.close();
          setTimeout(() => server.listen(port, opts.host, () => log('listening again')), opts.refuseMs);
        }
      }, 100);
      return;
    }
    ws.send(`at ${req.url} host ${req.headers.host}`);
    ws.on('message', (data, binary) => ws.send(data, { binary }));
  });
});

server.listen(opts.port, opts.host, () => {
  port = server.address().port;
  process.stdout.write(`listening ${port}\n`);
});
