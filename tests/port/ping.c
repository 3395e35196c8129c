/*
 * ping: keepalive from the retry policy, as minimal-ws-client-ping does:
 * no ping code in the callback, only secs_since_valid_ping (1 s) and
 * secs_since_valid_hangup (-H, default 3 s). The connection idles for -w
 * milliseconds (default 2500; a scheduled callback ends the wait) and
 * reports how many PONGs arrived and whether it stayed up. libwebsockets
 * pings a quiet connection 1 s after each PONG, whatever the hangup time:
 * at 1, 2, 3 s...
 *
 *   ping -p PORT [-H hangup-secs] [-w idle-ms]
 */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct lws_context *context;
static struct lws *client_wsi;
static lws_sorted_usec_list_t idle_done;
static int interrupted, pongs, closed, failed, result = 1, idle_ms = 2500;

static lws_retry_bo_t retry = {
    .secs_since_valid_ping = 1,
    .secs_since_valid_hangup = 3,
};

static void end_idle(lws_sorted_usec_list_t *sul)
{
    (void)sul;
    printf("after %d ms idle: %s, PONGs received: %d\n", idle_ms, closed ? "closed" : "still connected",
           pongs);
    result = closed || !pongs;
    interrupted = 1;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        printf("connection error\n");
        failed = interrupted = 1;
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        printf("established\n");
        lws_sul_schedule(context, 0, &idle_done, end_idle, idle_ms * LWS_US_PER_MS);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
        pongs++;
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        closed = 1;
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    { "lws-ping-test", callback, 0, 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 } /* terminator */
};

int main(int argc, const char **argv)
{
    struct lws_context_creation_info info;
    struct lws_client_connect_info i;
    const char *p;
    int n = 0;

    lws_set_log_level(LLL_ERR, NULL);
    if ((p = lws_cmdline_option(argc, argv, "-H")))
        retry.secs_since_valid_hangup = (uint16_t)atoi(p);
    if ((p = lws_cmdline_option(argc, argv, "-w")))
        idle_ms = atoi(p);
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    context = lws_create_context(&info);
    if (!context)
        return 1;

    memset(&i, 0, sizeof i);
    i.context = context;
    i.port = atoi(lws_cmdline_option(argc, argv, "-p"));
    i.address = "127.0.0.1";
    i.path = "/";
    i.host = i.address;
    i.origin = i.address;
    i.local_protocol_name = "lws-ping-test";
    i.retry_and_idle_policy = &retry;
    i.pwsi = &client_wsi;
    lws_client_connect_via_info(&i);

    while (n >= 0 && !interrupted)
        n = lws_service(context, 0);

    lws_sul_cancel(&idle_done);
    lws_context_destroy(context);
    return failed || result;
}
