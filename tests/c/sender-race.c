/*
 * sender-race: producers writing through ws_sender while the connection is
 * closed or the context destroyed under them, round after round, in every
 * order of close, release and write. Run under ASan and valgrind by
 * tests/sender.rs: no crash, no leak, no use after free.
 *
 *   sender-race -p PORT [-r rounds]
 *
 * Each round connects to the echo server, starts 4 producers on the
 * connection's sender, and once some echoes are back ends the round one of
 * three ways: the application closes the connection and services until
 * CLIENT_CLOSED; the context is destroyed at once while the producers
 * write; or the loop thread keeps a reference of its own, closes, destroys
 * and only then releases it. Some producers release their reference early.
 * Every producer must end with WS_SENDER_CLOSED or its own early release.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wsloop.h>

#define PRODUCERS 4

struct producer {
    pthread_t thread;
    struct ws_sender *sender;
    long stop_after; /* release early after this many messages (-1: never) */
    int ended;       /* 1: saw WS_SENDER_CLOSED, 2: released early, -1: bad */
};

static struct producer producers[PRODUCERS];
static int round_no, mode, closed, back, started;
static struct ws_sender *kept;

static void *produce(void *arg)
{
    struct producer *p = arg;
    unsigned char buf[64];
    long i = 0;

    memset(buf, 'r', sizeof buf);
    for (;;) {
        int r;
        if (p->stop_after >= 0 && i == p->stop_after) {
            p->ended = 2;
            break;
        }
        r = ws_sender_write(p->sender, buf, (size_t)(i % 64), WS_WRITE_BINARY);
        if (r == WS_SENDER_OK) {
            i++;
            continue;
        }
        if (r == WS_SENDER_FULL) {
            r = ws_sender_wait(p->sender, 64, 20);
            if (r == WS_SENDER_OK || r == WS_SENDER_TIMEOUT)
                continue;
        }
        p->ended = r == WS_SENDER_CLOSED ? 1 : -1;
        if (p->ended < 0)
            fprintf(stderr, "round %d: producer got %d\n", round_no, r);
        break;
    }
    ws_sender_release(p->sender);
    return NULL;
}

static int callback(struct ws *wsi, enum ws_callback_reasons reason, void *user, void *in, size_t len)
{
    int t;

    switch (reason) {
    case WS_CALLBACK_CLIENT_CONNECTION_ERROR:
        fprintf(stderr, "connection error: %s\n", in ? (const char *)in : "(null)");
        closed = -1;
        break;
    case WS_CALLBACK_CLIENT_ESTABLISHED:
        /* A small queue, so that producers meet "full" and wait. */
        for (t = 0; t < PRODUCERS; t++) {
            producers[t].sender = ws_sender_get(wsi, 4096);
            producers[t].stop_after = (t + round_no) % 3 == 0 ? (round_no * 37 + t * 11) % 300 : -1;
            producers[t].ended = 0;
            if (!producers[t].sender)
                return -1;
            pthread_create(&producers[t].thread, NULL, produce, &producers[t]);
        }
        started = 1;
        if (mode == 2)
            kept = ws_sender_get(wsi, 0);
        break;
    case WS_CALLBACK_CLIENT_RECEIVE:
        back++;
        if (mode != 1 && back == 50 + round_no % 50)
            return -1;
        break;
    case WS_CALLBACK_CLIENT_CLOSED:
        closed = 1;
        break;
    default:
        break;
    }
    return ws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct ws_protocols protocols[] = {
    { "sender-race", callback, 0, 0, 0, NULL, 0 },
    WS_PROTOCOL_LIST_TERM
};

int main(int argc, char **argv)
{
    int port = 7681, rounds = 30, i, t, bad = 0;

    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-p")) port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-r")) rounds = atoi(argv[i + 1]);
    }
    for (round_no = 0; round_no < rounds; round_no++) {
        struct ws_context_creation_info info;
        struct ws_client_connect_info ci;
        struct ws_context *context;
        int n = 0;

        mode = round_no % 3;
        closed = back = started = 0;
        kept = NULL;
        memset(&info, 0, sizeof info);
        info.port = WS_CONTEXT_PORT_NO_LISTEN;
        info.protocols = protocols;
        context = ws_create_context(&info);
        if (!context)
            return 1;
        memset(&ci, 0, sizeof ci);
        ci.context = context;
        ci.address = "127.0.0.1";
        ci.port = port;
        ci.path = "/";
        if (!ws_client_connect_via_info(&ci))
            return 1;
        /* mode 1: destroy as soon as some echoes are back, producers still writing */
        while (n >= 0 && !closed && !(mode == 1 && back >= 20 + round_no % 30))
            n = ws_service(context, 0);
        if (closed < 0)
            return 1;
        ws_context_destroy(context);
        if (kept) {
            /* Still usable after the context is gone: it says "closed". */
            if (ws_sender_write(kept, (const unsigned char *)"x", 1, WS_WRITE_TEXT) != WS_SENDER_CLOSED)
                bad = 1;
            ws_sender_release(kept);
        }
        if (!started)
            return 1;
        for (t = 0; t < PRODUCERS; t++) {
            pthread_join(producers[t].thread, NULL);
            if (producers[t].ended <= 0)
                bad = 1;
        }
    }
    if (bad) {
        fprintf(stderr, "a producer or the kept reference did not see WS_SENDER_CLOSED\n");
        return 1;
    }
    printf("OK: %d rounds\n", rounds);
    return 0;
}
