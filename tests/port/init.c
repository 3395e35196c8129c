/*
 * init: protocol initialisation as libwebsockets 4.1 does it.
 * lws_create_context() calls no callback: PROTOCOL_INIT comes at the first
 * lws_service() (or inside the first lws_client_connect_via_info() when
 * that comes first), so a protocol may connect from PROTOCOL_INIT through
 * its global `context`, as minimal-ws-client-spam does in lws 4.1. The first
 * service also says EVENT_WAIT_CANCELLED to every protocol. A context that
 * is destroyed before either gets neither PROTOCOL_INIT nor PROTOCOL_DESTROY.
 *
 *   init -p PORT
 */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct lws_context *context;
static int interrupted, port;

static const char *connect_one(void)
{
    struct lws_client_connect_info i;

    memset(&i, 0, sizeof i);
    i.context = context;
    i.port = port;
    i.address = "127.0.0.1";
    i.path = "/";
    i.host = i.address;
    i.origin = i.address;
    i.local_protocol_name = "lws-init-a";
    return lws_client_connect_via_info(&i) ? "ok" : "NULL";
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    const struct lws_protocols *prot = lws_get_protocol(wsi);
    const char *name = prot ? prot->name : "(none)"; /* lws' GET_THREAD_ID has none */
    const struct lws_protocol_vhost_options *pvo;
    unsigned char buf[LWS_PRE + 8];

    switch (reason) {
    case LWS_CALLBACK_PROTOCOL_INIT:
        pvo = (const struct lws_protocol_vhost_options *)in;
        printf("PROTOCOL_INIT %s: context %s, pvo %s%s%s\n", name, context ? "set" : "NULL",
               pvo ? pvo->name : "none", pvo ? "=" : "", pvo ? pvo->value : "");
        if (!strcmp(name, "lws-init-a") && context && !interrupted)
            printf("connect from PROTOCOL_INIT: %s\n", connect_one());
        break;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        printf("EVENT_WAIT_CANCELLED %s\n", name);
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        printf("connection error\n");
        interrupted = 1;
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        printf("established\n");
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        memcpy(buf + LWS_PRE, "hello", 5);
        if (lws_write(wsi, buf + LWS_PRE, 5, LWS_WRITE_TEXT) < 5)
            return -1;
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        printf("received: %.*s\n", (int)len, (const char *)in);
        return -1;
    case LWS_CALLBACK_CLIENT_CLOSED:
        printf("closed\n");
        interrupted = 1;
        break;
    case LWS_CALLBACK_PROTOCOL_DESTROY:
        printf("PROTOCOL_DESTROY %s\n", name);
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    { "lws-init-a", callback, 0, 0, 0, NULL, 0 },
    { "lws-init-b", callback, 0, 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 } /* terminator */
};

static const struct lws_protocol_vhost_options greeting = { NULL, NULL, "greeting", "hi" };
static const struct lws_protocol_vhost_options pvo_b = { NULL, &greeting, "lws-init-b", "" };

static int create(void)
{
    struct lws_context_creation_info info;

    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.pvo = &pvo_b;
    printf("creating\n");
    context = lws_create_context(&info);
    printf("created\n");
    return !context;
}

static void run(void)
{
    int n = 0;

    printf("servicing\n");
    interrupted = 0;
    while (n >= 0 && !interrupted)
        n = lws_service(context, 0);
    printf("destroying\n");
    lws_context_destroy(context);
    context = NULL;
}

int main(int argc, const char **argv)
{
    lws_set_log_level(LLL_ERR, NULL);
    port = atoi(lws_cmdline_option(argc, argv, "-p"));

    /* 1: the connection is made from PROTOCOL_INIT, at the first service. */
    if (create())
        return 1;
    run();

    /* 2: the connection is made from main(): PROTOCOL_INIT comes first, inside the call. */
    if (create())
        return 1;
    interrupted = 1; /* PROTOCOL_INIT must not connect this time */
    printf("connect from main: %s\n", connect_one());
    run();

    /* 3: never serviced, never connected: no PROTOCOL_INIT, no PROTOCOL_DESTROY. */
    if (create())
        return 1;
    printf("destroying\n");
    lws_context_destroy(context);
    return 0;
}
