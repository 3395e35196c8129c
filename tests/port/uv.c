/*
 * uv: a libwebsockets client joining the application's own libuv loop, as
 * lws' minimal examples do with --libuv and foreign_loops: the program runs
 * uv_run() and never calls lws_service(). Sends three messages, each after
 * the echo of the one before, closes from an lws timer, and destroys the
 * context from a uv timer of its own; the loop then ends by itself once
 * every handle is closed.
 *
 *   uv -p PORT
 */
#include <libwebsockets.h>
#include <uv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct lws_context *context;
static uv_timer_t check;
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
        n = lws_snprintf((char *)buf + LWS_PRE, 32, "uv message %d", received + 1);
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
    { "uv-client", callback, 0, 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* The application's own timer: destroys the context once the work is done. */
static void check_cb(uv_timer_t *t)
{
    if (!finished || !context)
        return;
    lws_context_destroy(context);
    context = NULL;
    uv_timer_stop(t);
    uv_close((uv_handle_t *)t, NULL);
}

int main(int argc, const char **argv)
{
    struct lws_context_creation_info info;
    struct lws_client_connect_info ci;
    void *foreign_loops[1];
    uv_loop_t loop;
    const char *p;
    int port = 7681;

    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    if ((p = lws_cmdline_option(argc, argv, "-p")))
        port = atoi(p);

    uv_loop_init(&loop);
    foreign_loops[0] = &loop;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_LIBUV;
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

    uv_timer_init(&loop, &check);
    uv_timer_start(&check, check_cb, 20, 20);
    uv_run(&loop, UV_RUN_DEFAULT); /* returns once no handle is left */
    printf("loop ended, uv_loop_close: %s\n", uv_loop_close(&loop) ? "busy" : "ok");
    return failed;
}
