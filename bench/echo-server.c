/*
 * echo-server: the benchmark's peer. One thread, epoll, non-blocking sockets.
 *
 *   echo-server [--port N] [--mode ws|raw] [--tls CERT_PEM KEY_PEM] [--addrs N]
 *
 * --mode ws  (default) WebSocket echo: answers the upgrade, then echoes every
 *            data frame unmasked with the same FIN/opcode, answers Ping with
 *            Pong and Close with Close (then closes the socket).
 * --mode raw plain TCP echo, for the raw-TCP ceiling.
 *            A permessage-deflate offer is accepted (RFC 7692): the answer
 *            keeps the offer's no_context_takeover parameters (and adds
 *            client_no_context_takeover when the offer has only the server
 *            one) and no window sizes, so that the client's own compressed
 *            frames, echoed as they are with RSV1, are a valid answer
 *            stream; an offer with server_max_window_bits is declined. The
 *            server never compresses or inflates anything.
 * --tls      the same over TLS (OpenSSL; TLS 1.2 or 1.3, its defaults), with
 *            this certificate chain and key: wss:// echo, or with --mode raw
 *            the raw-TLS ceiling. The first time a protocol version and
 *            cipher suite are negotiated, one line on stderr names them.
 *
 * --addrs N  listens on 127.0.0.1 ... 127.0.0.N, all on the same port (the
 *            clients' -A N spreads connections over them: one address toward
 *            one port gives only as many connections as there are ephemeral
 *            ports, about 28,000).
 *
 * Prints "listening PORT" once ready and exits when its stdin closes.
 * Takes as many connections as its descriptor limit allows (raised to the
 * hard limit).
 * Written to stay out of the way: a data frame's header is answered at once
 * and its payload is unmasked (eight bytes at a time) into the output buffer
 * as it arrives, so large messages are echoed while they stream in, as the
 * raw mode does; it writes as soon as it has data.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>

#define READ_CHUNK (256 * 1024)
#define OUT_HIGH (8 * 1024 * 1024) /* stop reading a client that does not read */

struct conn {
    int listener; /* a listening socket */
    int open;
    int upgraded;
    int closing;  /* close once `out` is flushed */
    int events;   /* what epoll watches now */
    uint64_t fwd_left;       /* payload bytes of the data frame being echoed */
    unsigned char fwd_mask[4];
    unsigned fwd_phase;      /* mask offset of the next payload byte */
    unsigned char *in;
    size_t in_len, in_cap;
    unsigned char *out;
    size_t out_off, out_len, out_cap;
    SSL *ssl;     /* with --tls */
    int tls_reported;
};

static int ep, raw_mode;
static SSL_CTX *tls;
static struct conn *conns;
static size_t nconns;

/* ---- SHA-1 and base64, for Sec-WebSocket-Accept ---- */

static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1_block(uint32_t h[5], const unsigned char *p)
{
    uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f, k, t;
    int i;
    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (; i < 80; i++)
        w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    for (i = 0; i < 80; i++) {
        if (i < 20) { f = (b & c) | (~b & d); k = 0x5a827999; }
        else if (i < 40) { f = b ^ c ^ d; k = 0x6ed9eba1; }
        else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8f1bbcdc; }
        else { f = b ^ c ^ d; k = 0xca62c1d6; }
        t = rol(a, 5) + f + e + k + w[i];
        e = d; d = c; c = rol(b, 30); b = a; a = t;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
}

static void sha1(const unsigned char *msg, size_t len, unsigned char out[20])
{
    uint32_t h[5] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0 };
    unsigned char block[64];
    size_t i, rem;
    uint64_t bits = (uint64_t)len * 8;
    for (i = 0; i + 64 <= len; i += 64)
        sha1_block(h, msg + i);
    rem = len - i;
    memset(block, 0, 64);
    memcpy(block, msg + i, rem);
    block[rem] = 0x80;
    if (rem >= 56) {
        sha1_block(h, block);
        memset(block, 0, 64);
    }
    for (i = 0; i < 8; i++)
        block[63 - i] = (unsigned char)(bits >> (8 * i));
    sha1_block(h, block);
    for (i = 0; i < 20; i++)
        out[i] = (unsigned char)(h[i / 4] >> (24 - 8 * (i % 4)));
}

static void base64(const unsigned char *in, size_t len, char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;
    for (i = 0; i + 2 < len; i += 3) {
        *out++ = t[in[i] >> 2];
        *out++ = t[(in[i] & 3) << 4 | in[i + 1] >> 4];
        *out++ = t[(in[i + 1] & 15) << 2 | in[i + 2] >> 6];
        *out++ = t[in[i + 2] & 63];
    }
    if (len - i == 1) {
        *out++ = t[in[i] >> 2];
        *out++ = t[(in[i] & 3) << 4];
        *out++ = '=';
        *out++ = '=';
    } else if (len - i == 2) {
        *out++ = t[in[i] >> 2];
        *out++ = t[(in[i] & 3) << 4 | in[i + 1] >> 4];
        *out++ = t[(in[i + 1] & 15) << 2];
        *out++ = '=';
    }
    *out = 0;
}

/* ---- buffers and sockets ---- */

static void reserve(unsigned char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return;
    while (*cap < need)
        *cap = *cap ? *cap * 2 : 64 * 1024;
    *buf = realloc(*buf, *cap);
    if (!*buf) {
        perror("realloc");
        exit(1);
    }
}

static void watch(int fd, struct conn *c)
{
    int want = 0;
    struct epoll_event ev;
    if (c->out_len - c->out_off < OUT_HIGH && !c->closing)
        want |= EPOLLIN;
    if (c->out_len > c->out_off)
        want |= EPOLLOUT;
    if (want == c->events)
        return;
    ev.events = (uint32_t)want;
    ev.data.fd = fd;
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
    c->events = want;
}

static void drop(int fd)
{
    struct conn *c = &conns[fd];
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    if (c->ssl)
        SSL_free(c->ssl);
    close(fd);
    free(c->in);
    free(c->out);
    memset(c, 0, sizeof *c);
}

/* The first time each protocol version + cipher suite is negotiated. */
static void report_cipher(SSL *ssl)
{
    static char seen[8][96];
    char now[96];
    int i;
    snprintf(now, sizeof now, "%s %s, key exchange %s", SSL_get_version(ssl), SSL_get_cipher_name(ssl),
             OBJ_nid2sn(SSL_get_negotiated_group(ssl) & ~TLSEXT_nid_unknown));
    for (i = 0; i < 8 && seen[i][0]; i++)
        if (!strcmp(seen[i], now))
            return;
    if (i < 8)
        strcpy(seen[i], now);
    fprintf(stderr, "echo-server: tls %s\n", now);
}

/* recv()/send(), or SSL_read()/SSL_write() with --tls: >0 bytes moved, 0 the
 * peer is gone (or a TLS error), -1 with errno EAGAIN when it would block. */
static ssize_t tls_result(struct conn *c, int n)
{
    if (n > 0) {
        if (!c->tls_reported) {
            c->tls_reported = 1;
            report_cipher(c->ssl);
        }
        return n;
    }
    switch (SSL_get_error(c->ssl, n)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        errno = EAGAIN;
        return -1;
    default:
        ERR_clear_error();
        return 0;
    }
}

static ssize_t rd(int fd, struct conn *c, void *buf, size_t len)
{
    if (!c->ssl)
        return recv(fd, buf, len, 0);
    return tls_result(c, SSL_read(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len));
}

static ssize_t wr(int fd, struct conn *c, const void *buf, size_t len)
{
    ssize_t n;
    if (!c->ssl)
        return send(fd, buf, len, MSG_NOSIGNAL);
    n = tls_result(c, SSL_write(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len));
    return n == 0 ? (errno = EPIPE, -1) : n;
}

/* Writes what it can; 0 when the connection is gone. */
static int flush(int fd)
{
    struct conn *c = &conns[fd];
    while (c->out_off < c->out_len) {
        ssize_t n = wr(fd, c, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            drop(fd);
            return 0;
        }
        c->out_off += (size_t)n;
    }
    if (c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
        if (c->closing) {
            drop(fd);
            return 0;
        }
    }
    watch(fd, c);
    return 1;
}

static unsigned char *out_space(struct conn *c, size_t n)
{
    if (c->out_off && c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    reserve(&c->out, &c->out_cap, c->out_len + n);
    return c->out + c->out_len;
}

/* ---- WebSocket ---- */

static int handshake(struct conn *c, size_t *used)
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    char *line, key[128], resp[384];
    const char *ext = "";
    unsigned char digest[20];
    char accept[32];
    size_t klen = 0;
    int n;
    if (!end)
        return c->in_len < 16384 ? 1 : -1;
    *end = 0;
    for (line = (char *)c->in; line && *line; line = strstr(line, "\r\n") ? strstr(line, "\r\n") + 2 : NULL) {
        if (!klen && !strncasecmp(line, "Sec-WebSocket-Key:", 18)) {
            char *v = line + 18;
            while (*v == ' ')
                v++;
            while (v[klen] && v[klen] != '\r' && v[klen] != ' ' && klen < 60)
                klen++;
            memcpy(key, v, klen);
        } else if (!strncasecmp(line, "Sec-WebSocket-Extensions:", 25)) {
            char *eol = strstr(line, "\r\n"), keep = 0;
            if (eol) { /* look at this line only */
                keep = *eol;
                *eol = 0;
            }
            if (strstr(line, "permessage-deflate") && !strstr(line, "server_max_window_bits")) {
                if (strstr(line, "server_no_context_takeover"))
                    ext = "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; "
                          "server_no_context_takeover\r\n";
                else if (strstr(line, "client_no_context_takeover"))
                    ext = "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n";
                else
                    ext = "Sec-WebSocket-Extensions: permessage-deflate\r\n";
            }
            if (eol)
                *eol = keep;
        }
    }
    if (!klen)
        return -1;
    memcpy(key + klen, guid, sizeof guid - 1);
    sha1((unsigned char *)key, klen + sizeof guid - 1, digest);
    base64(digest, 20, accept);
    n = snprintf(resp, sizeof resp,
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\n%s\r\n", accept, ext);
    memcpy(out_space(c, (size_t)n), resp, (size_t)n);
    c->out_len += (size_t)n;
    c->upgraded = 1;
    *used = (size_t)(end + 4 - c->in);
    return 0;
}

static void unmask_copy(unsigned char *dst, const unsigned char *src, size_t len, const unsigned char mask[4],
                        unsigned phase)
{
    unsigned char m[4];
    uint32_t m4;
    uint64_t m8, w;
    size_t i = 0;
    for (i = 0; i < 4; i++)
        m[i] = mask[(phase + i) & 3];
    mask = m;
    i = 0;
    memcpy(&m4, mask, 4);
    m8 = (uint64_t)m4 << 32 | m4;
    for (; i + 8 <= len; i += 8) {
        memcpy(&w, src + i, 8);
        w ^= m8;
        memcpy(dst + i, &w, 8);
    }
    for (; i < len; i++)
        dst[i] = src[i] ^ mask[i & 3];
}

/* Echoes what `in` holds; returns bytes consumed, or -1 to drop. */
static long frames(struct conn *c)
{
    size_t pos = 0;
    while (!c->closing) {
        const unsigned char *p = c->in + pos;
        size_t avail = c->in_len - pos, hl = 2, len;
        unsigned char mask[4] = { 0, 0, 0, 0 }, *o;
        int op, masked;
        if (c->fwd_left) { /* more payload of a data frame already answered */
            size_t n = avail < c->fwd_left ? avail : (size_t)c->fwd_left;
            if (!n)
                break;
            unmask_copy(out_space(c, n), p, n, c->fwd_mask, c->fwd_phase);
            c->out_len += n;
            c->fwd_left -= n;
            c->fwd_phase = (c->fwd_phase + (unsigned)n) & 3;
            pos += n;
            continue;
        }
        if (avail < 2)
            break;
        op = p[0] & 0x0f;
        masked = p[1] & 0x80;
        len = p[1] & 0x7f;
        if (len == 126) {
            if (avail < 4)
                break;
            len = (size_t)p[2] << 8 | p[3];
            hl = 4;
        } else if (len == 127) {
            int i;
            if (avail < 10)
                break;
            for (len = 0, i = 2; i < 10; i++)
                len = len << 8 | p[i];
            hl = 10;
        }
        if (masked) {
            if (avail < hl + 4)
                break;
            memcpy(mask, p + hl, 4);
            hl += 4;
        }
        if (op < 8) { /* data: answer the header now, stream the payload */
            o = out_space(c, 10);
            o[0] = p[0];
            if (len < 126) {
                o[1] = (unsigned char)len;
                c->out_len += 2;
            } else if (len < 65536) {
                o[1] = 126;
                o[2] = (unsigned char)(len >> 8);
                o[3] = (unsigned char)len;
                c->out_len += 4;
            } else {
                int i;
                o[1] = 127;
                for (i = 0; i < 8; i++)
                    o[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
                c->out_len += 10;
            }
            memcpy(c->fwd_mask, mask, 4);
            c->fwd_left = len;
            c->fwd_phase = 0;
            pos += hl;
            continue;
        }
        if (avail - hl < len) /* control frames are small: wait for all of it */
            break;
        if (op == 0xA) { /* Pong: nothing to do */
            pos += hl + len;
            continue;
        }
        o = out_space(c, len + 10);
        o[0] = op == 0x9 ? 0x8A : p[0];
        if (len < 126) {
            o[1] = (unsigned char)len;
            o += 2;
        } else if (len < 65536) {
            o[1] = 126;
            o[2] = (unsigned char)(len >> 8);
            o[3] = (unsigned char)len;
            o += 4;
        } else {
            int i;
            o[1] = 127;
            for (i = 0; i < 8; i++)
                o[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
            o += 10;
        }
        unmask_copy(o, p + hl, len, mask, 0);
        c->out_len = (size_t)(o + len - c->out);
        pos += hl + len;
        if (op == 0x8)
            c->closing = 1;
    }
    return (long)pos;
}

/* ---- the loop ---- */

/* Reads once (plain TCP) or until OpenSSL has nothing more (TLS, which may
 * hold decrypted bytes epoll does not know about), then echoes. */
static void on_readable(int fd)
{
    struct conn *c = &conns[fd];
    do {
        ssize_t n;
        long used = 0;
        reserve(&c->in, &c->in_cap, c->in_len + READ_CHUNK);
        n = rd(fd, c, c->in + c->in_len, c->in_cap - c->in_len);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            drop(fd);
            return;
        }
        if (n < 0)
            break;
        c->in_len += (size_t)n;
        if (raw_mode) {
            memcpy(out_space(c, c->in_len), c->in, c->in_len);
            c->out_len += c->in_len;
            used = (long)c->in_len;
        } else {
            size_t hs = 0;
            if (!c->upgraded) {
                int r = handshake(c, &hs);
                if (r < 0) {
                    drop(fd);
                    return;
                }
                if (r > 0)
                    continue;
                memmove(c->in, c->in + hs, c->in_len - hs);
                c->in_len -= hs;
            }
            used = frames(c);
            if (used < 0) {
                drop(fd);
                return;
            }
        }
        if (used) {
            memmove(c->in, c->in + used, c->in_len - (size_t)used);
            c->in_len -= (size_t)used;
        }
        /* TLS: echo what all the records at hand hold with one write, as one
         * recv() does for plain TCP */
        if ((!c->ssl || c->out_len - c->out_off >= READ_CHUNK) && !flush(fd))
            return;
    } while (c->ssl && !c->closing && c->out_len - c->out_off < OUT_HIGH);
    if (c->ssl)
        flush(fd);
}

static void on_accept(int lfd)
{
    for (;;) {
        int one = 1, fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct epoll_event ev;
        if (fd < 0)
            return;
        if ((size_t)fd >= nconns) {
            close(fd);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conns[fd].open = 1;
        conns[fd].events = EPOLLIN;
        if (tls) {
            conns[fd].ssl = SSL_new(tls);
            if (!conns[fd].ssl || !SSL_set_fd(conns[fd].ssl, fd)) {
                fprintf(stderr, "echo-server: SSL_new failed\n");
                exit(1);
            }
            SSL_set_accept_state(conns[fd].ssl);
        }
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    struct epoll_event ev, evs[256];
    struct rlimit rl;
    int lfd, port = 0, one = 1, i, addrs = 1;

    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port")) {
            port = atoi(argv[i + 1]);
        } else if (!strcmp(argv[i], "--addrs")) {
            addrs = atoi(argv[i + 1]);
            if (addrs < 1 || addrs > 254) {
                fprintf(stderr, "echo-server: --addrs takes 1 to 254\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--mode")) {
            raw_mode = !strcmp(argv[i + 1], "raw");
        } else if (!strcmp(argv[i], "--tls") && i + 2 < argc) {
            signal(SIGPIPE, SIG_IGN); /* OpenSSL writes without MSG_NOSIGNAL */
            tls = SSL_CTX_new(TLS_server_method());
            if (!tls || SSL_CTX_use_certificate_chain_file(tls, argv[i + 1]) != 1 ||
                SSL_CTX_use_PrivateKey_file(tls, argv[i + 2], SSL_FILETYPE_PEM) != 1) {
                fprintf(stderr, "echo-server: cannot load %s / %s\n", argv[i + 1], argv[i + 2]);
                ERR_print_errors_fp(stderr);
                return 1;
            }
            /* flush() retries from the same bytes, which may have moved */
            SSL_CTX_set_mode(tls, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
            i++;
        } else {
            fprintf(stderr, "usage: echo-server [--port N] [--mode ws|raw] [--tls CERT_PEM KEY_PEM] [--addrs N]\n");
            return 2;
        }
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    nconns = rl.rlim_cur > 1 << 20 ? 1 << 20 : (size_t)rl.rlim_cur;
    conns = calloc(nconns, sizeof *conns);

    ep = epoll_create1(EPOLL_CLOEXEC);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    /* 127.0.0.1 first (its port, when 0 was asked for, is every address's) */
    for (i = 0; i < addrs; i++) {
        lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK + (uint32_t)i);
        if (lfd < 0 || (size_t)lfd >= nconns || bind(lfd, (struct sockaddr *)&sa, sizeof sa) ||
            listen(lfd, 65535)) {
            perror("echo-server: bind/listen");
            return 1;
        }
        getsockname(lfd, (struct sockaddr *)&sa, &sl);
        conns[lfd].listener = 1;
        ev.events = EPOLLIN;
        ev.data.fd = lfd;
        epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    }
    ev.data.fd = 0;
    epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev); /* fails harmlessly if stdin is a file */
    printf("listening %d\n", ntohs(sa.sin_port));
    fflush(stdout);

    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            uint32_t e = evs[i].events;
            if (conns[fd].listener) {
                on_accept(fd);
            } else if (fd == 0) {
                char b[64];
                if (read(0, b, sizeof b) <= 0)
                    return 0;
            } else if (conns[fd].open) {
                if (e & (EPOLLERR | EPOLLHUP) && !(e & EPOLLIN)) {
                    drop(fd);
                    continue;
                }
                if (e & EPOLLIN)
                    on_readable(fd);
                if (conns[fd].open && e & EPOLLOUT)
                    flush(fd);
            }
        }
    }
}
