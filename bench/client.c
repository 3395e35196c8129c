/*
 * The WebSocket benchmark client. One source, written against wsloop's
 * lws-style API; built with -DUSE_LWS it runs on libwebsockets instead
 * (see lws-shim.h).
 *
 *   client [-a address] [-p port] [-c conns] [-w in_flight] [-s size]
 *          [-n messages_per_conn] [-d seconds] [-t limit_seconds] [-i idle_conns]
 *          [-T ca.pem] [-P threads] [-z offer] [-j 1] [-A addresses]
 *
 * Opens `conns` connections, waits until all are established (the connect
 * time), then keeps `in_flight` binary messages of `size` bytes outstanding
 * on each (but the last `idle_conns`, which stay idle), checking every
 * echoed byte, for `seconds` or until each connection had
 * `messages_per_conn` echoes. With -T, over wss:// (TLS verified against
 * that CA file; the certificate must cover the address). Writes the lws way: one
 * ws_write() per CLIENT_WRITEABLE. Prints one result line (see common.h);
 * exits 0 only if every connection came up and every echo matched. With
 * -P N, N threads each do all of that on a context of their own (one
 * context per thread, the way to use more cores), and the line has the
 * totals. With -z, permessage-deflate is offered from an extension table,
 * the libwebsockets way, with the same offer for both libraries; -j 1 sends
 * JSON-like text (still as binary messages) instead of random bytes.
 */
#include "common.h"
#include <pthread.h>
#include "lws-shim.h"

struct session {
    struct ws *wsi;
    long sent, recvd;  /* messages */
    size_t rx_off;     /* bytes of the current echo received */
    int up, idle;
};

/* Each -P thread runs its own context, with its own copy of these. */
static __thread struct session *sessions;
static __thread unsigned char *txbuf;
static __thread int established, sending, stopping, finished;
static __thread long received, mismatches, errors;
static __thread int negotiated;

static int wants_to_send(const struct session *s)
{
    return sending && !stopping && !s->idle && s->sent - s->recvd < o.inflight &&
           (!o.count || s->sent < o.count);
}

static int callback(struct ws *wsi, enum ws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct session *s = (struct session *)user;

    switch (reason) {
    case WS_CALLBACK_CLIENT_CONNECTION_ERROR:
        fprintf(stderr, "bench: connection error: %s\n", in ? (const char *)in : "(no message)");
        errors++;
        break;
    case WS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
        /* The answer's headers are still there: did it accept the offer? */
        if (ws_hdr_total_length(wsi, WS_WSI_TOKEN_EXTENSIONS) > 0)
            negotiated++;
        break;
    case WS_CALLBACK_CLIENT_ESTABLISHED:
        s->wsi = wsi;
        s->up = 1;
        established++;
        break;
    case WS_CALLBACK_CLIENT_WRITEABLE:
        if (!wants_to_send(s))
            break;
        /* The payload is copied each time because ws_write may mask it in place. */
        memcpy(txbuf + WS_PRE, expected(s->sent, 0), o.size);
        if (ws_write(wsi, txbuf + WS_PRE, o.size, WS_WRITE_BINARY) < (int)o.size) {
            fprintf(stderr, "bench: ws_write failed\n");
            errors++;
            return -1;
        }
        s->sent++;
        if (wants_to_send(s))
            ws_callback_on_writable(wsi);
        break;
    case WS_CALLBACK_CLIENT_RECEIVE:
        if (s->rx_off + len > o.size || memcmp(in, expected(s->recvd, s->rx_off), len)) {
            fprintf(stderr, "bench: echo %ld differs from what was sent\n", s->recvd);
            mismatches++;
            return -1;
        }
        s->rx_off += len;
        if (s->rx_off == o.size) {
            s->rx_off = 0;
            s->recvd++;
            received++;
            if (o.count && s->recvd == o.count)
                finished++;
            /* WRITEABLE checks whether to send, as raw-client.c's pump()
             * checks once per message and once to stop. */
            ws_callback_on_writable(wsi);
        }
        break;
    case WS_CALLBACK_CLIENT_CLOSED:
        if (s && s->up && !stopping) {
            fprintf(stderr, "bench: connection closed during the run\n");
            errors++;
        }
        break;
    default:
        return ws_callback_http_dummy(wsi, reason, user, in, len);
    }
    return 0;
}

/* The traffic phase, in a function of its own so that callgrind can count
 * it alone (--toggle-collect=run_traffic). */
__attribute__((noinline)) static void run_traffic(struct ws_context *context, double deadline)
{
    while (!errors && !mismatches) {
        if (o.count && finished == o.conns - o.idle)
            break;
        if (deadline && now_s() >= deadline)
            break;
        if (ws_service(context, 0) < 0)
            break;
    }
}

static const char *const offers[] = DEFLATE_OFFERS;

static const struct ws_protocols protocols[] = {
    { "bench", callback, sizeof(struct session), 0, 0, NULL, 0 },
    WS_PROTOCOL_LIST_TERM
};

/* One context and its connections, start to finish; fills *r. */
static void *run(void *arg)
{
    struct result *rp = arg, r;
    struct ws_context_creation_info info;
    struct ws_client_connect_info ci;
    struct ws_context *context;
    struct ws_extension extensions[2];
    double t0, deadline = 0;
    int i;

    txbuf = malloc(WS_PRE + o.size);
    sessions = calloc((size_t)o.conns, sizeof *sessions);
    if (!txbuf || !sessions)
        exit(1);
    memset(&r, 0, sizeof r);
    r.lib = BENCH_LIB;
    memset(&info, 0, sizeof info);
    info.port = WS_CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.gid = -1;
    info.uid = -1;
    /* Set-up may take as long as the run may (-t): 100,000 connections, or
     * 10,000 under valgrind, need longer than the 20 s default. */
    info.connect_timeout_secs = (unsigned)o.limit;
    info.timeout_secs = (unsigned)o.limit;
    if (o.ca) {
        info.options |= WS_SERVER_OPTION_DO_SSL_GLOBAL_INIT; /* lws needs it; wsloop ignores it */
        info.client_ssl_ca_filepath = o.ca;
    }
    if (o.deflate) {
        memset(extensions, 0, sizeof extensions);
        extensions[0].name = "permessage-deflate";
        extensions[0].callback = ws_extension_callback_pm_deflate;
        extensions[0].client_offer = offers[o.deflate];
        info.extensions = extensions;
    }
    context = ws_create_context(&info);
    if (!context)
        exit(1);

    r.rss_before = rss_now();
    t0 = now_s();
    memset(&ci, 0, sizeof ci);
    ci.context = context;
    ci.port = o.port;
    ci.path = "/";
    ci.ietf_version_or_minus_one = -1;
    ci.ssl_connection = o.ca ? WS_LCCSCF_USE_SSL : 0;
    for (i = 0; i < o.conns; i++) {
        ci.address = ci.host = ci.origin = conn_address(i);
        ci.userdata = &sessions[i];
        if (!ws_client_connect_via_info(&ci))
            errors++;
    }
    while (established + errors < o.conns)
        if (ws_service(context, 0) < 0)
            break;
    r.connect_s = now_s() - t0;
    r.rss_after = rss_now();
    r.established = established;

    if ((o.count || o.duration > 0) && !errors) {
        sending = 1;
        for (i = 0; i < o.conns; i++) {
            sessions[i].idle = i >= o.conns - o.idle;
            if (!sessions[i].idle)
                ws_callback_on_writable(sessions[i].wsi);
        }
        t0 = traffic_begins();
        if (o.duration > 0)
            deadline = t0 + o.duration;
        run_traffic(context, deadline);
        traffic_ended(&r);
    }
    stopping = 1;
    r.messages = received;
    r.mismatches = mismatches;
    r.errors = errors;
    r.negotiated = negotiated;
    ws_context_destroy(context);
    free(sessions);
    free(txbuf);
    *rp = r;
    return NULL;
}

int main(int argc, char **argv)
{
    struct result total, *each;
    pthread_t *tid;
    int t;

    parse_opts(argc, argv);
    make_pattern();
    progress_lib = BENCH_LIB;
    progress_established = &established;
    arm_limit();
    ws_set_log_level(WS_LLL_ERR, NULL);
    if (o.threads == 1) {
        run(&total);
        return report(&total);
    }
    /* -P: one context per thread; one line with the totals (traffic time:
     * the longest thread's; CPU: the process's). */
    each = calloc((size_t)o.threads, sizeof *each);
    tid = calloc((size_t)o.threads, sizeof *tid);
    if (!each || !tid)
        return 1;
    for (t = 0; t < o.threads; t++)
        if (pthread_create(&tid[t], NULL, run, &each[t]))
            return 1;
    memset(&total, 0, sizeof total);
    total.lib = BENCH_LIB;
    for (t = 0; t < o.threads; t++) {
        pthread_join(tid[t], NULL);
        total.established += each[t].established;
        total.messages += each[t].messages;
        total.mismatches += each[t].mismatches;
        total.errors += each[t].errors;
        total.negotiated += each[t].negotiated;
        if (!t || each[t].rss_before < total.rss_before)
            total.rss_before = each[t].rss_before;
        if (each[t].rss_after > total.rss_after)
            total.rss_after = each[t].rss_after;
        if (each[t].connect_s > total.connect_s)
            total.connect_s = each[t].connect_s;
        if (each[t].traffic_s > total.traffic_s)
            total.traffic_s = each[t].traffic_s;
        total.traffic_cpu_s += each[t].traffic_cpu_s;
    }
    return report(&total);
}
