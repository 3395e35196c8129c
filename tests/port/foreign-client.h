/*
 * foreign-client.h: the lws half of the foreign-loop port programs (uv.c,
 * glib.c, libevent.c). Each of them makes its own loop, hands it to
 * lws_create_context() in foreign_loops and runs it, never calling
 * lws_service(); this part connects, sends three messages (each after the
 * echo of the one before), closes from an lws timer, and sets `finished`.
 * The program then destroys the context from a timer of its own loop.
 */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct lws_context *context;
static int received, failed, finished;

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    unsigned char buf[LWS_PRE + 32];
    int n;

    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        printf("connection error\n");
        failed = finished = 1;
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        printf("established\n");
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        n = lws_snprintf((char *)buf + LWS_PRE, 32, "%s message %d", LOOP_NAME, received + 1);
        if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
            return -1;
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        printf("received: %.*s\n", (int)len, (const char *)in);
        if (++received < 3)
            lws_callback_on_writable(wsi);
        else
            lws_set_timer_usecs(wsi, 100 * LWS_US_PER_MS);
        break;
    case LWS_CALLBACK_TIMER:
        printf("timer fired\n");
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"bye", 3);
        return -1;
    case LWS_CALLBACK_CLIENT_CLOSED:
        printf("closed\n");
        finished = 1;
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    { LOOP_NAME "-client", callback, 0, 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* Creates the context on `loop` (lws' `option` for its kind) and connects
 * to 127.0.0.1 at the port given by -p; returns 0, or 1 if either failed. */
static int start(int argc, const char **argv, uint64_t option, void *loop)
{
    struct lws_context_creation_info info;
    struct lws_client_connect_info ci;
    void *foreign_loops[1];
    const char *p;
    int port = 7681;

    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    if ((p = lws_cmdline_option(argc, argv, "-p")))
        port = atoi(p);

    foreign_loops[0] = loop;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.options = option;
    info.foreign_loops = foreign_loops;
    context = lws_create_context(&info);
    if (!context) {
        printf("context creation failed\n");
        return 1;
    }

    memset(&ci, 0, sizeof ci);
    ci.context = context;
    ci.address = "127.0.0.1";
    ci.port = port;
    ci.path = "/";
    ci.host = ci.address;
    ci.origin = ci.address;
    if (!lws_client_connect_via_info(&ci))
        failed = finished = 1;
    return 0;
}

/* Destroys the context once the connection is over; returns 1 then. */
static int finish(void)
{
    if (!finished || !context)
        return 0;
    lws_context_destroy(context);
    context = NULL;
    return 1;
}
