/*
 * reconnect: keeps a connection up with a retry policy, as
 * minimal-ws-client does. The first connection is started from a scheduled
 * callback; every close or connection error schedules the next attempt with
 * lws_retry_sul_schedule_retry_wsi(). The server closes each connection after
 * one echo; the program stops after -n connections.
 *
 *   reconnect -p PORT [-n 3] [-r REFUSED_PORT]
 */
#include <libwebsockets.h>
#include <string.h>
#include <stdlib.h>
#include <stdio.h>

static struct my_conn {
    lws_sorted_usec_list_t sul; /* schedules the connection */
    /* (the globals are used in callbacks: lws may pass user == NULL in
     * CLIENT_CONNECTION_ERROR) */
    struct lws *wsi;
    uint16_t retry_count;
} mco;

static struct lws_context *context;
static int interrupted, port, refused_port, wanted = 3, established;

static const uint32_t backoff_ms[] = { 100, 200, 300 };

static const lws_retry_bo_t retry = {
    .retry_ms_table = backoff_ms,
    .retry_ms_table_count = LWS_ARRAY_SIZE(backoff_ms),
    .conceal_count = 10,
    .secs_since_valid_ping = 30,
    .secs_since_valid_hangup = 40,
    .jitter_percent = 20,
};

static void connect_client(lws_sorted_usec_list_t *sul)
{
    struct my_conn *m = lws_container_of(sul, struct my_conn, sul);
    struct lws_client_connect_info i;

    memset(&i, 0, sizeof(i));
    i.context = context;
    /* The first attempt goes to a port nobody listens on, if one is given. */
    i.port = refused_port && !m->retry_count ? refused_port : port;
    i.address = "127.0.0.1";
    i.path = "/";
    i.host = i.address;
    i.origin = i.address;
    i.protocol = NULL;
    i.local_protocol_name = "reconnect";
    i.pwsi = &m->wsi;
    i.retry_and_idle_policy = &retry;
    i.userdata = m;

    printf("connecting (try %d)\n", m->retry_count);
    if (!lws_client_connect_via_info(&i))
        if (lws_retry_sul_schedule(context, 0, sul, &retry, connect_client, &m->retry_count)) {
            printf("giving up\n");
            interrupted = 1;
        }
}

static void again(struct lws *wsi, struct my_conn *m)
{
    if (established >= wanted) {
        interrupted = 1;
        return;
    }
    if (lws_retry_sul_schedule_retry_wsi(wsi, &m->sul, connect_client, &m->retry_count)) {
        printf("giving up\n");
        interrupted = 1;
    } else
        printf("retry scheduled\n");
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    unsigned char buf[LWS_PRE + 32];

    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        printf("connection error\n");
        again(wsi, &mco);
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        printf("established %d\n", ++established);
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        memcpy(buf + LWS_PRE, "hello", 5);
        if (lws_write(wsi, buf + LWS_PRE, 5, LWS_WRITE_TEXT) < 5)
            return -1;
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        printf("received: %.*s\n", (int)len, (const char *)in);
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        printf("closed\n");
        again(wsi, &mco);
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    { "reconnect", callback, 0, 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 } /* terminator */
};

int main(int argc, const char **argv)
{
    struct lws_context_creation_info info;
    const char *p;
    int n = 0;

    lws_set_log_level(LLL_ERR, NULL);
    if ((p = lws_cmdline_option(argc, argv, "-p")))
        port = atoi(p);
    if ((p = lws_cmdline_option(argc, argv, "-n")))
        wanted = atoi(p);
    if ((p = lws_cmdline_option(argc, argv, "-r")))
        refused_port = atoi(p);

    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.fd_limit_per_thread = 1 + 1 + 1;
    context = lws_create_context(&info);
    if (!context)
        return 1;

    lws_sul_schedule(context, 0, &mco.sul, connect_client, 1);

    while (n >= 0 && !interrupted)
        n = lws_service(context, 0);

    lws_context_destroy(context);
    printf("done after %d connections\n", established);
    return established == wanted ? 0 : 1;
}
