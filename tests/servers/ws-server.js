#!/usr/bin/env node
// Peer WebSocket server for the wsloop test suite (Node + `ws` 8).
//
// Usage: node ws-server.js [--host 127.0.0.1] [--port 0] [--mode MODE] [--protocols a,b]
//
// Prints exactly one line `listening <port>` on stdout once bound, then runs
// until stdin reaches EOF or 300 s have passed, whichever comes first.
// Diagnostics go to stderr only.
//
// Modes:
//   echo (default)      echo every message with its type; text commands:
//                         close:<code>:<reason>   close with that code/reason
//                                                 (`close:` alone = close frame without code)
//                         send-ping:<payload>     send a ping, echo nothing
//                         fragments:<n>:<text>    send <text> as one text message in n fragments
//                         big:<n>                 send one binary message of n bytes, byte i = i % 251
//                         random:<n>              send one binary message of n random bytes
//                         json:<n>                send one text message of n bytes of JSON-like text
//                       with --protocols, selects the first offered protocol in the list
//                       (none if no match); without it, ws' default (first offered).
//   deflate             echo + commands with permessage-deflate (RFC 7692) accepted and every
//                       message compressed (threshold 0), context takeover both ways.
//   deflate-no-takeover as deflate, answering server_no_context_takeover and
//                       client_no_context_takeover: each message starts from an empty window.
//   deflate-window:<b>  as deflate, with server_max_window_bits=<b> and client_max_window_bits=<b>
//                       (8..15; the client must offer client_max_window_bits, else HTTP 400).
//   subprotocol-strict  refuse (HTTP 400) clients that offer none of --protocols (default chat);
//                       otherwise select the first offered known protocol; echo + commands.
//   subprotocol-none    accept everything, never select a subprotocol; echo + commands.
//   subprotocol-wrong   hand-made 101 with a valid Sec-WebSocket-Accept and
//                       `Sec-WebSocket-Protocol: not-offered`; socket destroyed after 2 s.
//   status:<code>       answer every request with a plain HTTP <code> response and close
//                       (401 adds `WWW-Authenticate: Basic`, 3xx adds `Location: /elsewhere`).
//   close-after:<n>     plain echo of n messages, then close 1000 "done" (no commands).
'use strict';

const http = require('http');
const crypto = require('crypto');
const { WebSocketServer } = require('ws');

const MAX_LIFETIME_MS = 300 * 1000;
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

function log(...args) {
  process.stderr.write(`[ws-server ${process.pid}] ${args.join(' ')}\n`);
}

function die(msg) {
  process.stderr.write(`ws-server: ${msg}\n`);
  process.exit(2);
}

// ---------------------------------------------------------------- lifetime
// Exit when stdin closes (the parent test died or dropped the pipe) and after
// a hard maximum lifetime, so no test can leave a server running.
setTimeout(() => {
  log('maximum lifetime reached, exiting');
  process.exit(0);
}, MAX_LIFETIME_MS);
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();

// ---------------------------------------------------------------- arguments
const opts = { host: '127.0.0.1', port: 0, mode: 'echo', protocols: null };
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let val;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq !== -1) {
      val = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const next = () => {
      if (val !== undefined) return val;
      if (i + 1 >= argv.length) die(`missing value for ${arg}`);
      return argv[++i];
    };
    switch (arg) {
      case '--host': opts.host = next(); break;
      case '--port': opts.port = Number(next()); break;
      case '--mode': opts.mode = next(); break;
      case '--allow-none': opts.allowNone = true; break;
      case '--protocols':
        opts.protocols = next().split(',').map((s) => s.trim()).filter(Boolean);
        break;
      default: die(`unknown argument ${arg}`);
    }
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    die(`bad --port`);
  }
}

// ---------------------------------------------------------------- helpers
function offeredProtocols(req) {
  const h = req.headers['sec-websocket-protocol'];
  if (!h) return [];
  return h.split(',').map((s) => s.trim()).filter(Boolean);
}

// Build a raw server->client frame (unmasked). Used only when ws refuses to
// send something on purpose (invalid close code, over-long control payload).
function rawFrame(opcode, payload) {
  const len = payload.length;
  let header;
  if (len < 126) {
    header = Buffer.from([0x80 | opcode, len]);
  } else if (len < 65536) {
    header = Buffer.alloc(4);
    header[0] = 0x80 | opcode;
    header[1] = 126;
    header.writeUInt16BE(len, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([header, payload]);
}

function rawWrite(ws, frame) {
  const sock = ws._socket;
  if (sock && !sock.destroyed) sock.write(frame);
}

function handleCommand(ws, text) {
  if (text.startsWith('close:')) {
    const rest = text.slice('close:'.length);
    const colon = rest.indexOf(':');
    const codeStr = colon === -1 ? rest : rest.slice(0, colon);
    const reason = colon === -1 ? '' : rest.slice(colon + 1);
    if (codeStr === '') {
      ws.close();
      return true;
    }
    const code = Number(codeStr);
    try {
      ws.close(code, reason);
    } catch (e) {
      // Invalid code or over-long reason: send it anyway, raw, then end.
      log(`ws refused close(${codeStr}): ${e.message}; sending raw close frame`);
      const r = Buffer.from(reason);
      const p = Buffer.alloc(2 + r.length);
      p.writeUInt16BE(code & 0xffff, 0);
      r.copy(p, 2);
      rawWrite(ws, rawFrame(0x8, p));
      setTimeout(() => ws.terminate(), 1000);
    }
    return true;
  }
  if (text.startsWith('send-ping:')) {
    const payload = Buffer.from(text.slice('send-ping:'.length));
    try {
      ws.ping(payload);
    } catch (e) {
      log(`ws refused ping: ${e.message}; sending raw ping frame`);
      rawWrite(ws, rawFrame(0x9, payload));
    }
    return true;
  }
  if (text.startsWith('fragments:')) {
    const rest = text.slice('fragments:'.length);
    const colon = rest.indexOf(':');
    const n = Number(colon === -1 ? rest : rest.slice(0, colon));
    const body = Buffer.from(colon === -1 ? '' : rest.slice(colon + 1));
    if (!Number.isInteger(n) || n < 1) {
      log(`bad fragment count in ${JSON.stringify(text)}`);
      return true;
    }
    // Split on byte boundaries (a fragment may end inside a UTF-8 sequence,
    // which is legal: validity is checked over the whole message).
    for (let k = 0; k < n; k++) {
      const a = Math.floor((k * body.length) / n);
      const b = Math.floor(((k + 1) * body.length) / n);
      // With permessage-deflate, one message compressed across its fragments.
      ws.send(body.subarray(a, b), { binary: false, fin: k === n - 1, compress: true });
    }
    return true;
  }
  if (text.startsWith('big:')) {
    const n = Number(text.slice('big:'.length));
    if (!Number.isInteger(n) || n < 0) {
      log(`bad size in ${JSON.stringify(text)}`);
      return true;
    }
    const buf = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) buf[i] = i % 251;
    ws.send(buf, { binary: true });
    return true;
  }
  if (text.startsWith('random:') || text.startsWith('json:')) {
    const random = text.startsWith('random:');
    const n = Number(text.slice(text.indexOf(':') + 1));
    if (!Number.isInteger(n) || n < 0) {
      log(`bad size in ${JSON.stringify(text)}`);
      return true;
    }
    ws.send(random ? crypto.randomBytes(n) : jsonText(n), { binary: random });
    return true;
  }
  return false;
}

// n bytes of JSON-like text (compresses to about a fifth at zlib level 1).
function jsonText(n) {
  const parts = [];
  let len = 0;
  for (let i = 0; len < n; i++) {
    const p = `{"id":${i},"user":"user${(i * 7919) % 1000}","price":${(i * 37) % 997}.${i % 100},"ok":${i % 3 === 0}},`;
    parts.push(p);
    len += p.length;
  }
  return parts.join('').slice(0, n);
}

function attachEcho(wss, { commands, closeAfter }) {
  wss.on('connection', (ws, req) => {
    let count = 0;
    ws.on('error', (e) => log(`connection error: ${e.message}`));
    if (closeAfter === 0) {
      ws.close(1000, 'done');
      return;
    }
    ws.on('message', (data, isBinary) => {
      if (commands && !isBinary && handleCommand(ws, data.toString())) return;
      ws.send(data, { binary: isBinary });
      count++;
      if (closeAfter !== undefined && count >= closeAfter) ws.close(1000, 'done');
    });
  });
  wss.on('error', (e) => log(`server error: ${e.message}`));
}

function plainResponse(code, extraHeaders, body) {
  const reason = http.STATUS_CODES[code] || 'Unknown';
  const noBody = code < 200 || code === 204 || code === 304;
  let head = `HTTP/1.1 ${code} ${reason}\r\nConnection: close\r\n`;
  for (const [k, v] of Object.entries(extraHeaders || {})) head += `${k}: ${v}\r\n`;
  if (noBody) return `${head}\r\n`;
  const b = body === undefined ? `${code} ${reason}\n` : body;
  return `${head}Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`;
}

// ---------------------------------------------------------------- server
const server = http.createServer();
server.on('clientError', (e, socket) => {
  if (socket.writable) socket.end(plainResponse(400, {}, ''));
});

// permessage-deflate options of the deflate modes, null for the others.
function deflateOptions(mode) {
  if (mode === 'deflate') return { threshold: 0 };
  if (mode === 'deflate-no-takeover') {
    return { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true };
  }
  if (mode.startsWith('deflate-window:')) {
    const bits = Number(mode.slice('deflate-window:'.length));
    if (!Number.isInteger(bits) || bits < 8 || bits > 15) die(`bad mode ${mode}`);
    return { threshold: 0, serverMaxWindowBits: bits, clientMaxWindowBits: bits };
  }
  return null;
}

const mode = opts.mode;
const deflate = deflateOptions(mode);
if (mode === 'echo' || deflate) {
  const wsOpts = { server, perMessageDeflate: deflate || false };
  if (opts.protocols) {
    const known = opts.protocols;
    wsOpts.handleProtocols = (protocols) => {
      for (const p of protocols) if (known.includes(p)) return p;
      return false;
    };
  }
  server.on('request', (req, res) => res.writeHead(426, { Connection: 'close' }).end('websocket only\n'));
  attachEcho(new WebSocketServer(wsOpts), { commands: true });
} else if (mode === 'subprotocol-strict') {
  const known = opts.protocols || ['chat'];
  const wss = new WebSocketServer({
    server,
    verifyClient: (info, cb) => {
      const offered = offeredProtocols(info.req);
      // --allow-none: a client that offers nothing is fine; one that offers
      // only unknown subprotocols is refused (what most servers do).
      const ok = offered.some((p) => known.includes(p)) || (opts.allowNone && offered.length === 0);
      if (ok) cb(true);
      else cb(false, 400, 'Unsupported subprotocol');
    },
    handleProtocols: (protocols) => {
      for (const p of protocols) if (known.includes(p)) return p;
      return false;
    },
  });
  server.on('request', (req, res) => res.writeHead(426, { Connection: 'close' }).end('websocket only\n'));
  attachEcho(wss, { commands: true });
} else if (mode === 'subprotocol-none') {
  server.on('request', (req, res) => res.writeHead(426, { Connection: 'close' }).end('websocket only\n'));
  attachEcho(new WebSocketServer({ server, handleProtocols: () => false }), { commands: true });
} else if (mode === 'subprotocol-wrong') {
  server.on('request', (req, res) => res.writeHead(426, { Connection: 'close' }).end('websocket only\n'));
  server.on('upgrade', (req, socket) => {
    socket.on('error', () => {});
    const key = req.headers['sec-websocket-key'];
    if (!key) {
      socket.end(plainResponse(400, {}, 'missing Sec-WebSocket-Key\n'));
      return;
    }
    const accept = crypto.createHash('sha1').update(key + GUID).digest('base64');
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${accept}\r\n` +
        'Sec-WebSocket-Protocol: not-offered\r\n' +
        '\r\n',
    );
    socket.resume(); // discard whatever the client sends
    setTimeout(() => socket.destroy(), 2000);
  });
} else if (mode.startsWith('status:')) {
  const code = Number(mode.slice('status:'.length));
  if (!Number.isInteger(code) || code < 100 || code > 999) die(`bad mode ${mode}`);
  const headers = {};
  if (code === 401) headers['WWW-Authenticate'] = 'Basic realm="wsloop"';
  if (code >= 300 && code < 400) headers['Location'] = '/elsewhere';
  const response = plainResponse(code, headers);
  server.on('request', (req, res) => {
    req.socket.end(response);
  });
  server.on('upgrade', (req, socket) => {
    socket.on('error', () => {});
    socket.end(response);
  });
} else if (mode.startsWith('close-after:')) {
  const n = Number(mode.slice('close-after:'.length));
  if (!Number.isInteger(n) || n < 0) die(`bad mode ${mode}`);
  server.on('request', (req, res) => res.writeHead(426, { Connection: 'close' }).end('websocket only\n'));
  attachEcho(new WebSocketServer({ server }), { commands: false, closeAfter: n });
} else {
  die(`unknown mode ${mode}`);
}

server.on('error', (e) => {
  process.stderr.write(`ws-server: ${e.message}\n`);
  process.exit(1);
});
server.listen(opts.port, opts.host, () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
