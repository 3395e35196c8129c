/*
 * certs: which server certificates a wss:// client accepts, the way
 * libwebsockets' examples connect (LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT, the
 * system's CAs or client_ssl_ca_filepath, no LCCSCF_ALLOW_* flag). Sends one
 * message and prints its echo, or "connection error" (the text differs
 * between libraries; the outcome must not).
 *
 *   certs -p PORT [--ca FILE] [--host NAME]
 */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int interrupted;

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    unsigned char buf[LWS_PRE + 8];

    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        printf("connection error\n");
        interrupted = 1;
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        printf("established over TLS\n");
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
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    { "lws-certs-test", callback, 0, 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 } /* terminator */
};

int main(int argc, const char **argv)
{
    struct lws_context_creation_info info;
    struct lws_client_connect_info i;
    struct lws_context *context;
    const char *host;
    int n = 0;

    lws_set_log_level(0, NULL);
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.client_ssl_ca_filepath = lws_cmdline_option(argc, argv, "--ca");
    context = lws_create_context(&info);
    if (!context)
        return 1;

    host = lws_cmdline_option(argc, argv, "--host");
    memset(&i, 0, sizeof i);
    i.context = context;
    i.port = atoi(lws_cmdline_option(argc, argv, "-p"));
    i.address = "127.0.0.1";
    i.path = "/";
    i.host = host ? host : "localhost";
    i.origin = i.host;
    i.ssl_connection = LCCSCF_USE_SSL;
    lws_client_connect_via_info(&i);

    while (n >= 0 && !interrupted)
        n = lws_service(context, 0);

    lws_context_destroy(context);
    return 0;
}
