/*
 * threaded-sender: many threads writing into one connection.
 *
 * Once the connection is established, the loop thread hands each of T
 * producer threads its own reference to the connection's sender
 * (ws_sender_get); each producer writes N numbered binary messages through
 * it with ws_sender_write and, when the queue is full, waits for room with
 * ws_sender_wait. The loop thread only runs ws_service() and checks that the
 * echo server sends every message back once, in each producer's order.
 * (These are wsloop extensions: libwebsockets users keep a ring under a
 * mutex and call lws_cancel_service() instead.)
 *
 *   threaded-sender [-a address] [-p port] [-t threads] [-n messages] [-s size]
 *
 * Prints "OK: <total> messages from <T> threads, each once and in order"
 * and exits 0, or says what went wrong and exits 1.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wsloop.h>

#define MAX_THREADS 64

struct producer {
    pthread_t thread;
    struct ws_sender *sender;
    uint32_t index;
    int started;
    int failed;
    uint32_t next_back; /* the next number expected back from the server */
};

static struct producer producers[MAX_THREADS];
static unsigned threads = 8, messages = 100000, size = 16;
static unsigned long long back, total;
static int done, failed;

static void *produce(void *arg)
{
    struct producer *p = arg;
    unsigned char buf[4096];
    uint32_t i;

    memset(buf, 'x', size);
    memcpy(buf, &p->index, 4);
    for (i = 0; i < messages; i++) {
        memcpy(buf + 4, &i, 4);
        for (;;) {
            int r = ws_sender_write(p->sender, buf, size, WS_WRITE_BINARY);
            if (r == WS_SENDER_OK)
                break;
            if (r == WS_SENDER_FULL) {
                /* The peer or the loop is behind: wait until it catches up. */
                r = ws_sender_wait(p->sender, size, 10000);
                if (r == WS_SENDER_OK)
                    continue;
            }
            fprintf(stderr, "producer %u: message %u not sent (%d)\n", p->index, i, r);
            p->failed = 1;
            goto out;
        }
    }
out:
    /* The holder releases its reference, whatever became of the connection. */
    ws_sender_release(p->sender);
    return NULL;
}

static int callback(struct ws *wsi, enum ws_callback_reasons reason, void *user, void *in, size_t len)
{
    switch (reason) {
    case WS_CALLBACK_CLIENT_CONNECTION_ERROR:
        fprintf(stderr, "connection error: %s\n", in ? (const char *)in : "(null)");
        failed = done = 1;
        break;
    case WS_CALLBACK_CLIENT_ESTABLISHED: {
        unsigned t;
        for (t = 0; t < threads; t++) {
            /* One reference per producer; 0 keeps the default queue limit. */
            producers[t].sender = ws_sender_get(wsi, 0);
            producers[t].index = t;
            if (!producers[t].sender ||
                pthread_create(&producers[t].thread, NULL, produce, &producers[t])) {
                fprintf(stderr, "cannot start producer %u\n", t);
                ws_sender_release(producers[t].sender);
                failed = 1;
                return -1;
            }
            producers[t].started = 1;
        }
        break;
    }
    case WS_CALLBACK_CLIENT_RECEIVE: {
        /* A message may arrive in pieces: gather it. */
        static unsigned char msg[4096];
        static size_t have;
        uint32_t t, i;
        if (have + len > size) {
            fprintf(stderr, "a message of more than %u bytes came back\n", size);
            failed = 1;
            return -1;
        }
        memcpy(msg + have, in, len);
        have += len;
        if (!ws_is_final_fragment(wsi) || ws_remaining_packet_payload(wsi))
            break;
        if (have != size) {
            fprintf(stderr, "a message of %zu bytes came back, not %u\n", have, size);
            failed = 1;
            return -1;
        }
        have = 0;
        memcpy(&t, msg, 4);
        memcpy(&i, msg + 4, 4);
        if (t >= threads || i != producers[t].next_back) {
            fprintf(stderr, "message %u of producer %u came back, expected %u\n", i, t,
                    t < threads ? producers[t].next_back : 0);
            failed = 1;
            return -1;
        }
        producers[t].next_back++;
        if (++back == total)
            return -1; /* all back: close (1000) */
        break;
    }
    case WS_CALLBACK_CLIENT_CLOSED:
        done = 1;
        break;
    default:
        break;
    }
    return ws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct ws_protocols protocols[] = {
    { "threaded-sender", callback, 0, 0, 0, NULL, 0 },
    WS_PROTOCOL_LIST_TERM
};

int main(int argc, char **argv)
{
    struct ws_context_creation_info info;
    struct ws_client_connect_info ci;
    struct ws_context *context;
    const char *address = "127.0.0.1";
    int port = 7681, n = 0, i;
    unsigned t;

    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-a")) address = argv[i + 1];
        else if (!strcmp(argv[i], "-p")) port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-t")) threads = (unsigned)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-n")) messages = (unsigned)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-s")) size = (unsigned)atoi(argv[i + 1]);
    }
    if (threads < 1 || threads > MAX_THREADS || size < 8 || size > 4096) {
        fprintf(stderr, "threads must be 1..%d and size 8..4096\n", MAX_THREADS);
        return 1;
    }
    total = (unsigned long long)threads * messages;

    memset(&info, 0, sizeof info);
    info.port = WS_CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    context = ws_create_context(&info);
    if (!context)
        return 1;

    memset(&ci, 0, sizeof ci);
    ci.context = context;
    ci.address = address;
    ci.port = port;
    ci.path = "/";
    if (!ws_client_connect_via_info(&ci)) {
        ws_context_destroy(context);
        return 1;
    }

    while (n >= 0 && !done)
        n = ws_service(context, 0);

    /* Producers still writing see WS_SENDER_CLOSED once the context is gone. */
    ws_context_destroy(context);
    for (t = 0; t < threads; t++) {
        if (!producers[t].started)
            continue;
        pthread_join(producers[t].thread, NULL);
        failed |= producers[t].failed;
    }
    if (failed || back != total) {
        fprintf(stderr, "%llu of %llu messages came back\n", back, total);
        return 1;
    }
    printf("OK: %llu messages from %u threads, each once and in order\n", total, threads);
    return 0;
}
