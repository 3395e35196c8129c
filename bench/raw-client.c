/*
 * The raw-TCP ceiling: the traffic pattern of client.c (same options, same
 * payloads, same checks, one send() per message) over plain TCP, without
 * WebSocket framing, against `echo-server --mode raw`. One thread, epoll.
 * With -T ca.pem, the raw-TLS ceiling: the same over TLS (OpenSSL, its
 * defaults, the server verified against that CA and the address), one
 * SSL_write() per message, against `echo-server --mode raw --tls ...`.
 */
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct conn {
    int fd, up, out_armed;
    SSL *ssl; /* with -T */
    long sent, recvd;
    size_t tx_off, rx_off;
};

static struct conn *conns;
static int ep, established, sending;
static long received, mismatches, errors;
static unsigned char rxbuf[256 * 1024];
static SSL_CTX *tls;

/* send()/recv(), or SSL_write()/SSL_read(): >0 bytes moved, 0 the peer
 * closed (or a TLS error), -1 with errno EAGAIN when it would block. */
static ssize_t tls_result(struct conn *c, int n)
{
    if (n > 0)
        return n;
    switch (SSL_get_error(c->ssl, n)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        errno = EAGAIN;
        return -1;
    default:
        ERR_print_errors_fp(stderr);
        errno = EPROTO;
        return n == 0 ? 0 : -1;
    }
}

static ssize_t wr(struct conn *c, const void *buf, size_t len)
{
    if (!c->ssl)
        return send(c->fd, buf, len, MSG_NOSIGNAL);
    return tls_result(c, SSL_write(c->ssl, buf, (int)len));
}

static ssize_t rd(struct conn *c, void *buf, size_t len)
{
    if (!c->ssl)
        return recv(c->fd, buf, len, 0);
    return tls_result(c, SSL_read(c->ssl, buf, (int)len));
}

static int wants_to_send(const struct conn *c)
{
    return sending && c - conns < o.conns - o.idle && c->sent - c->recvd < o.inflight &&
           (!o.count || c->sent < o.count);
}

static void arm(struct conn *c, int out)
{
    struct epoll_event ev;
    if (c->out_armed == out)
        return;
    ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
    ev.data.ptr = c;
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->out_armed = out;
}

static void pump(struct conn *c)
{
    int blocked = 0;
    while (wants_to_send(c)) {
        ssize_t n = wr(c, expected(c->sent, c->tx_off), o.size - c->tx_off);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                perror("bench: send");
                errors++;
            }
            blocked = 1;
            break;
        }
        c->tx_off += (size_t)n;
        if (c->tx_off < o.size) {
            if (c->ssl) /* one record written: go on */
                continue;
            break;
        }
        c->tx_off = 0;
        c->sent++;
    }
    /* OpenSSL must be called again with the same bytes once it can write */
    arm(c, c->tx_off > 0 || (c->ssl && blocked));
}

/* Reads once (TCP) or until OpenSSL has nothing more (TLS: it may hold
 * decrypted bytes epoll does not know about), checking the echoes. */
static void readable(struct conn *c)
{
    do {
        ssize_t n = rd(c, rxbuf, sizeof rxbuf);
        size_t pos = 0;
        if (n <= 0) {
            if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                fprintf(stderr, "bench: connection lost\n");
                errors++;
            }
            break;
        }
        while (pos < (size_t)n) {
            size_t take = o.size - c->rx_off;
            if (take > (size_t)n - pos)
                take = (size_t)n - pos;
            /* never more than was sent (a message may be partly sent) */
            if (c->recvd > c->sent || (c->recvd == c->sent && c->rx_off + take > c->tx_off) ||
                memcmp(rxbuf + pos, expected(c->recvd, c->rx_off), take)) {
                fprintf(stderr, "bench: echo %ld differs from what was sent\n", c->recvd);
                mismatches++;
                return;
            }
            pos += take;
            c->rx_off += take;
            if (c->rx_off == o.size) {
                c->rx_off = 0;
                c->recvd++;
                received++;
            }
        }
    } while (c->ssl && !errors);
    pump(c);
}

/* Drives the TLS handshake of a connected socket: 1 done, 0 not yet, -1
 * failed. */
static int tls_handshake(struct conn *c)
{
    int n, e;
    if (!c->ssl) {
        c->ssl = SSL_new(tls);
        if (!c->ssl || !SSL_set_fd(c->ssl, c->fd) || !SSL_set1_host(c->ssl, NULL))
            return -1;
        /* the address is an IP literal: verify it against the certificate */
        if (!X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), o.address))
            return -1;
        SSL_set_connect_state(c->ssl);
    }
    n = SSL_do_handshake(c->ssl);
    if (n == 1)
        return 1;
    e = SSL_get_error(c->ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        struct epoll_event ev;
        ev.events = e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT;
        ev.data.ptr = c;
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        c->out_armed = -1; /* neither state arm() knows */
        return 0;
    }
    fprintf(stderr, "bench: TLS handshake failed: %s\n",
            X509_verify_cert_error_string(SSL_get_verify_result(c->ssl)));
    ERR_print_errors_fp(stderr);
    return -1;
}

/* The traffic phase, in a function of its own so that callgrind can count
 * it alone (--toggle-collect=run_traffic). */
__attribute__((noinline)) static void run_traffic(double deadline)
{
    struct epoll_event evs[256];
    long finished = 0;
    int i;
    while (!errors && !mismatches) {
        int n;
        if (o.count && finished == o.conns - o.idle)
            break;
        if (deadline && now_s() >= deadline)
            break;
        n = epoll_wait(ep, evs, 256, -1);
        for (i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            long before = c->recvd;
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                readable(c);
            else
                pump(c);
            if (o.count && before < o.count && c->recvd >= o.count)
                finished++;
        }
    }
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa;
    struct epoll_event evs[256];
    struct result r;
    double t0, deadline = 0;
    int i, one = 1;

    parse_opts(argc, argv);
    make_pattern();
    progress_lib = "raw";
    progress_established = &established;
    arm_limit();
    if (o.threads != 1) {
        fprintf(stderr, "raw-client: -P is not supported (one thread)\n");
        return 2;
    }
    conns = calloc((size_t)o.conns, sizeof *conns);
    ep = epoll_create1(0);
    if (o.ca) {
        signal(SIGPIPE, SIG_IGN); /* OpenSSL writes without MSG_NOSIGNAL */
        tls = SSL_CTX_new(TLS_client_method());
        if (!tls || SSL_CTX_load_verify_locations(tls, o.ca, NULL) != 1) {
            fprintf(stderr, "bench: cannot load the CA file %s\n", o.ca);
            return 2;
        }
        SSL_CTX_set_verify(tls, SSL_VERIFY_PEER, NULL);
        /* pump() retries a partial message from where it stopped */
        SSL_CTX_set_mode(tls, SSL_MODE_ENABLE_PARTIAL_WRITE);
    }
    memset(&r, 0, sizeof r);
    r.lib = "raw";
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)o.port);
    if (inet_pton(AF_INET, o.address, &sa.sin_addr) != 1) {
        fprintf(stderr, "bench: raw client needs an IPv4 literal\n");
        return 2;
    }
    (void)conn_address(0); /* checks -A */

    r.rss_before = rss_now();
    t0 = now_s();
    for (i = 0; i < o.conns; i++) {
        struct conn *c = &conns[i];
        struct epoll_event ev;
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        inet_pton(AF_INET, conn_address(i), &sa.sin_addr);
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) && errno != EINPROGRESS) {
            perror("bench: connect");
            errors++;
            continue;
        }
        ev.events = EPOLLOUT;
        ev.data.ptr = c;
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
        c->out_armed = 1;
    }
    while (established + errors < o.conns) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            int err = 0, done;
            socklen_t el = sizeof err;
            if (c->up) { /* TLS 1.3: the server's session tickets */
                readable(c);
                continue;
            }
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
            if (err || evs[i].events & (EPOLLERR | EPOLLHUP)) {
                fprintf(stderr, "bench: connect failed: %s\n", strerror(err));
                errors++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                continue;
            }
            if (tls && (done = tls_handshake(c)) != 1) {
                if (done < 0) {
                    errors++;
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                }
                continue;
            }
            c->up = 1;
            established++;
            arm(c, 0);
        }
    }
    r.connect_s = now_s() - t0;
    r.rss_after = rss_now();
    r.established = established;

    if ((o.count || o.duration > 0) && !errors) {
        sending = 1;
        t0 = traffic_begins();
        if (o.duration > 0)
            deadline = t0 + o.duration;
        for (i = 0; i < o.conns; i++)
            pump(&conns[i]);
        run_traffic(deadline);
        traffic_ended(&r);
    }
    r.messages = received;
    r.mismatches = mismatches;
    r.errors = errors;
    for (i = 0; i < o.conns; i++) {
        if (conns[i].ssl)
            SSL_free(conns[i].ssl);
        close(conns[i].fd);
    }
    return report(&r);
}
