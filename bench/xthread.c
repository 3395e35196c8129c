/*
 * xthread: messages per second written from other threads into one
 * connection, echoed back by the server.
 *
 * Built twice: against wsloop, producers call ws_sender_write (waiting with
 * ws_sender_wait when the queue is full); with -DUSE_LWS against
 * libwebsockets, the pattern its minimal-ws-client-tx example teaches:
 * producers insert into an lws_ring under a mutex and call
 * lws_cancel_service(); EVENT_WAIT_CANCELLED asks for WRITEABLE, which
 * sends one message and asks again while more wait (producers wait on a
 * condition variable while the ring is full).
 *
 *   xthread -p PORT [-t threads] [-n messages_per_thread] [-s size]
 *
 * Prints "xthread lib=LIB threads=T messages=M size=S secs=X msgs_per_s=R".
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef USE_LWS
#include <libwebsockets.h>
#define LIB "lws"
#define RING_MSGS 4096
#else
#include <wsloop.h>
#define LIB "wsloop"
#endif

#define MAX_MSG 1024

static unsigned threads = 4, per_thread = 100000, size = 16;
static unsigned long long total, back;
static int done, failed;
static double t_start;
static pthread_t producers[64];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#ifdef USE_LWS
struct msg {
    unsigned char payload[MAX_MSG];
    size_t len;
};
static struct lws_context *context;
static struct lws *client_wsi;
static struct lws_ring *ring;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t room = PTHREAD_COND_INITIALIZER;

static void *produce(void *arg)
{
    struct msg m;
    unsigned i;
    int stop;

    memset(m.payload, 'x', size);
    m.len = size;
    (void)arg;
    for (i = 0; i < per_thread; i++) {
        pthread_mutex_lock(&lock);
        while (!lws_ring_insert(ring, &m, 1) && !done)
            pthread_cond_wait(&room, &lock);
        stop = done;
        pthread_mutex_unlock(&lock);
        if (stop)
            break;
        lws_cancel_service(context);
    }
    return NULL;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    static unsigned char buf[LWS_PRE + MAX_MSG];
    const struct msg *m;
    unsigned t;
    int more;

    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        failed = done = 1;
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        client_wsi = wsi;
        t_start = now();
        for (t = 0; t < threads; t++)
            pthread_create(&producers[t], NULL, produce, NULL);
        break;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (client_wsi)
            lws_callback_on_writable(client_wsi);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        pthread_mutex_lock(&lock);
        m = lws_ring_get_element(ring, NULL);
        if (!m) {
            pthread_mutex_unlock(&lock);
            break;
        }
        memcpy(buf + LWS_PRE, m->payload, m->len);
        len = m->len;
        lws_ring_consume(ring, NULL, NULL, 1);
        more = lws_ring_get_count_waiting_elements(ring, NULL) > 0;
        pthread_cond_broadcast(&room);
        pthread_mutex_unlock(&lock);
        if (lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_BINARY) < (int)len)
            return -1;
        if (more)
            lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi) && ++back == total)
            done = 1;
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        client_wsi = NULL;
        done = 1;
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}
#else
static struct ws_context *context;

static void *produce(void *arg)
{
    struct ws_sender *s = arg;
    unsigned char payload[MAX_MSG];
    unsigned i;

    memset(payload, 'x', size);
    for (i = 0; i < per_thread; i++) {
        int r;
        while ((r = ws_sender_write(s, payload, size, WS_WRITE_BINARY)) == WS_SENDER_FULL)
            ws_sender_wait(s, size, -1);
        if (r != WS_SENDER_OK)
            break;
    }
    ws_sender_release(s);
    return NULL;
}

static int callback(struct ws *wsi, enum ws_callback_reasons reason, void *user, void *in, size_t len)
{
    unsigned t;

    switch (reason) {
    case WS_CALLBACK_CLIENT_CONNECTION_ERROR:
        failed = done = 1;
        break;
    case WS_CALLBACK_CLIENT_ESTABLISHED:
        t_start = now();
        for (t = 0; t < threads; t++)
            pthread_create(&producers[t], NULL, produce, ws_sender_get(wsi, 0));
        break;
    case WS_CALLBACK_CLIENT_RECEIVE:
        if (ws_is_final_fragment(wsi) && !ws_remaining_packet_payload(wsi) && ++back == total)
            done = 1;
        break;
    case WS_CALLBACK_CLIENT_CLOSED:
        done = 1;
        break;
    default:
        break;
    }
    return ws_callback_http_dummy(wsi, reason, user, in, len);
}
#endif

int main(int argc, char **argv)
{
#ifdef USE_LWS
    static const struct lws_protocols protocols[] = {
        { "xthread", callback, 0, 0, 0, NULL, 0 }, { NULL, NULL, 0, 0, 0, NULL, 0 }
    };
    struct lws_context_creation_info info;
    struct lws_client_connect_info ci;
#else
    static const struct ws_protocols protocols[] = {
        { "xthread", callback, 0, 0, 0, NULL, 0 }, WS_PROTOCOL_LIST_TERM
    };
    struct ws_context_creation_info info;
    struct ws_client_connect_info ci;
#endif
    int port = 7681, n = 0, i;
    unsigned t;
    double secs;

    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-p")) port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-t")) threads = (unsigned)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-n")) per_thread = (unsigned)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-s")) size = (unsigned)atoi(argv[i + 1]);
    }
    if (threads < 1 || threads > 64 || size < 1 || size > MAX_MSG) {
        fprintf(stderr, "threads must be 1..64 and size 1..%d\n", MAX_MSG);
        return 2;
    }
    total = (unsigned long long)threads * per_thread;
    memset(&info, 0, sizeof info);
    info.protocols = protocols;
#ifdef USE_LWS
    lws_set_log_level(LLL_ERR, NULL);
    info.port = CONTEXT_PORT_NO_LISTEN;
    ring = lws_ring_create(sizeof(struct msg), RING_MSGS, NULL);
    context = lws_create_context(&info);
#else
    info.port = WS_CONTEXT_PORT_NO_LISTEN;
    context = ws_create_context(&info);
#endif
    if (!context)
        return 1;
    memset(&ci, 0, sizeof ci);
    ci.context = context;
    ci.address = "127.0.0.1";
    ci.host = "127.0.0.1";
    ci.port = port;
    ci.path = "/";
#ifdef USE_LWS
    if (!lws_client_connect_via_info(&ci))
        return 1;
    while (n >= 0 && !done)
        n = lws_service(context, 0);
    secs = now() - t_start;
    pthread_mutex_lock(&lock);
    done = 1;
    pthread_cond_broadcast(&room);
    pthread_mutex_unlock(&lock);
    for (t = 0; t < threads; t++)
        pthread_join(producers[t], NULL);
    lws_context_destroy(context);
    lws_ring_destroy(ring);
#else
    if (!ws_client_connect_via_info(&ci))
        return 1;
    while (n >= 0 && !done)
        n = ws_service(context, 0);
    secs = now() - t_start;
    ws_context_destroy(context);
    for (t = 0; t < threads; t++)
        pthread_join(producers[t], NULL);
#endif
    if (failed || back != total) {
        fprintf(stderr, "xthread %s: %llu of %llu messages came back\n", LIB, back, total);
        return 1;
    }
    printf("xthread lib=%s threads=%u messages=%llu size=%u secs=%.3f msgs_per_s=%.0f\n", LIB,
           threads, total, size, secs, (double)total / secs);
    return 0;
}
