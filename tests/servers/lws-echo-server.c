/*
 * Peer WebSocket echo server for the wsloop test suite, built on Debian's
 * libwebsockets (libwebsockets-dev) with its permessage-deflate extension.
 *
 *   cc -std=c99 -O2 -o lws-echo-server lws-echo-server.c -lwebsockets -lpthread
 *   lws-echo-server [-p port] [-b rx_buffer_size] [-n]
 *
 *   -p  port to listen on at 127.0.0.1 (default 0: an ephemeral one)
 *   -b  the protocol's rx_buffer_size: how large the chunks are that the
 *       server receives and echoes (default 65536)
 *   -n  offer no extension: the server runs uncompressed
 *
 * Prints exactly one line `listening <port>` on stdout once bound, then
 * echoes every message with its type, in the fragments it received it in
 * (each received chunk goes back as a fragment with the same first/final
 * flags), compressing with permessage-deflate when the client offered it
 * (libwebsockets answers with the offer's arg-less parameters, e.g.
 * client_no_context_takeover, and compresses every message). One
 * exception: with the extension on, an empty message is not echoed (a
 * warning says so), because libwebsockets 4.1.6 aborts when it compresses
 * an empty message after a flush ("FAIL want to trim out length 0",
 * extension-permessage-deflate.c), which every message ends with. Exits when
 * stdin reaches EOF or after 300 s, whichever comes first. Diagnostics
 * (libwebsockets' errors and warnings) go to stderr only.
 */
#define _POSIX_C_SOURCE 200809L
#include <libwebsockets.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LIFETIME_S 300
/* Received bytes waiting to be echoed before receiving pauses. */
#define PAUSE_ABOVE (4u << 20)
#define RESUME_BELOW (1u << 20)

/* One received chunk, echoed as one fragment; WS_PRE headroom before it. */
struct chunk {
    struct chunk *next;
    size_t len;
    int first, final, binary;
    unsigned char buf[]; /* LWS_PRE + len */
};

struct session {
    struct chunk *head, *tail;
    /* The chunk last written: libwebsockets may still be deflating it from
     * our buffer, so it is freed at the next WRITEABLE. */
    struct chunk *written;
    size_t queued;
    int paused;
};

static struct lws_context *context;
static volatile int done;
static int no_ext;

static void drop_all(struct session *s)
{
    free(s->written);
    s->written = NULL;
    while (s->head) {
        struct chunk *c = s->head;
        s->head = c->next;
        free(c);
    }
    s->tail = NULL;
    s->queued = 0;
}

static int callback_echo(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    struct session *s = user;
    struct chunk *c;

    switch (reason) {
    case LWS_CALLBACK_RECEIVE:
        if (!no_ext && !len && lws_is_first_fragment(wsi) && lws_is_final_fragment(wsi)) {
            lwsl_warn("lws-echo-server: not echoing an empty message (libwebsockets 4.1.6 "
                      "aborts compressing one)\n");
            break;
        }
        c = malloc(sizeof *c + LWS_PRE + len);
        if (!c) {
            lwsl_err("lws-echo-server: out of memory for a %zu-byte chunk\n", len);
            return -1;
        }
        c->next = NULL;
        c->len = len;
        c->first = lws_is_first_fragment(wsi);
        c->final = lws_is_final_fragment(wsi);
        c->binary = lws_frame_is_binary(wsi);
        if (len)
            memcpy(c->buf + LWS_PRE, in, len);
        if (s->tail)
            s->tail->next = c;
        else
            s->head = c;
        s->tail = c;
        s->queued += len;
        if (!s->paused && s->queued > PAUSE_ABOVE) {
            s->paused = 1;
            lws_rx_flow_control(wsi, 0);
        }
        lws_callback_on_writable(wsi);
        break;

    case LWS_CALLBACK_SERVER_WRITEABLE:
        free(s->written);
        s->written = NULL;
        c = s->head;
        if (!c)
            break;
        s->head = c->next;
        if (!s->head)
            s->tail = NULL;
        s->queued -= c->len;
        s->written = c;
        {
            int flags = lws_write_ws_flags(c->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT,
                                           c->first, c->final);
            if (lws_write(wsi, c->buf + LWS_PRE, c->len, (enum lws_write_protocol)flags)
                < (int)c->len) {
                lwsl_err("lws-echo-server: lws_write failed\n");
                return -1;
            }
        }
        if (s->paused && s->queued < RESUME_BELOW) {
            s->paused = 0;
            lws_rx_flow_control(wsi, 1);
        }
        /* Again: for the next chunk, or to free this one. */
        lws_callback_on_writable(wsi);
        break;

    case LWS_CALLBACK_CLOSED:
        drop_all(s);
        break;

    default:
        break;
    }
    return 0;
}

static struct lws_protocols protocols[] = {
    { "echo", callback_echo, sizeof(struct session), 65536, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 }
};

static const struct lws_extension extensions[] = {
    { "permessage-deflate", lws_extension_callback_pm_deflate,
      "permessage-deflate; client_no_context_takeover; client_max_window_bits" },
    { NULL, NULL, NULL }
};

/* Stops the server once the parent closes our stdin (or dies). */
static void *watch_stdin(void *arg)
{
    char b[4096];
    (void)arg;
    while (read(0, b, sizeof b) > 0)
        ;
    done = 1;
    lws_cancel_service(context);
    return NULL;
}

static void lifetime_exceeded(int sig)
{
    static const char msg[] = "lws-echo-server: maximum lifetime reached, exiting\n";
    (void)sig;
    if (write(2, msg, sizeof msg - 1) < 0)
        _exit(3);
    _exit(0);
}

int main(int argc, char **argv)
{
    struct lws_context_creation_info info;
    struct lws_vhost *vh;
    pthread_t watcher;
    int port = 0, opt;

    while ((opt = getopt(argc, argv, "p:b:n")) != -1) {
        switch (opt) {
        case 'p':
            port = atoi(optarg);
            break;
        case 'b':
            protocols[0].rx_buffer_size = (size_t)atol(optarg);
            break;
        case 'n':
            no_ext = 1;
            break;
        default:
            fprintf(stderr, "usage: %s [-p port] [-b rx_buffer_size] [-n]\n", argv[0]);
            return 2;
        }
    }

    signal(SIGALRM, lifetime_exceeded);
    alarm(MAX_LIFETIME_S);
    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);

    memset(&info, 0, sizeof info);
    info.port = port;
    info.iface = "127.0.0.1";
    info.protocols = protocols;
    info.extensions = no_ext ? NULL : extensions;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;

    context = lws_create_context(&info);
    if (!context) {
        fprintf(stderr, "lws-echo-server: lws_create_context failed\n");
        return 1;
    }
    vh = lws_get_vhost_by_name(context, "default");
    if (!vh || lws_get_vhost_listen_port(vh) <= 0) {
        fprintf(stderr, "lws-echo-server: not listening\n");
        lws_context_destroy(context);
        return 1;
    }
    printf("listening %d\n", lws_get_vhost_listen_port(vh));
    fflush(stdout);

    if (pthread_create(&watcher, NULL, watch_stdin, NULL)) {
        fprintf(stderr, "lws-echo-server: cannot start the stdin watcher\n");
        lws_context_destroy(context);
        return 1;
    }
    pthread_detach(watcher);

    while (!done)
        if (lws_service(context, 0) < 0)
            break;
    lws_context_destroy(context);
    return 0;
}
