/*
 * proxy: a client that reaches its server through an HTTP CONNECT proxy
 * given in the context info (http_proxy_address, http_proxy_port), as lws'
 * client examples do with --proxy. It sends one message, prints the echo
 * and closes. With -u the proxy address carries "user:password@" for Basic
 * authentication.
 *
 *   proxy -p PORT -x PROXY_PORT [-u user:password]
 */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int interrupted, failed;
static const char message[] = "hello through the proxy";

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    unsigned char buf[LWS_PRE + sizeof message];

    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        printf("connection error\n");
        failed = interrupted = 1;
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        printf("established\n");
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        memcpy(buf + LWS_PRE, message, sizeof message - 1);
        if (lws_write(wsi, buf + LWS_PRE, sizeof message - 1, LWS_WRITE_TEXT) < 0)
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
    { "proxy-test", callback, 0, 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 } /* terminator */
};

int main(int argc, const char **argv)
{
    struct lws_context_creation_info info;
    struct lws_client_connect_info i;
    struct lws_context *context;
    const char *creds = lws_cmdline_option(argc, argv, "-u");
    char proxy[128];
    int n = 0;

    lws_set_log_level(LLL_ERR, NULL);
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    if (creds)
        snprintf(proxy, sizeof proxy, "%s@127.0.0.1", creds);
    else
        snprintf(proxy, sizeof proxy, "127.0.0.1");
    info.http_proxy_address = proxy;
    info.http_proxy_port = (unsigned int)atoi(lws_cmdline_option(argc, argv, "-x"));
    context = lws_create_context(&info);
    if (!context) {
        printf("context creation failed\n");
        return 1;
    }

    memset(&i, 0, sizeof i);
    i.context = context;
    i.port = atoi(lws_cmdline_option(argc, argv, "-p"));
    i.address = "127.0.0.1";
    i.path = "/";
    i.host = i.address;
    i.origin = i.address;
    i.protocol = NULL;
    lws_client_connect_via_info(&i);

    while (n >= 0 && !interrupted)
        n = lws_service(context, 0);

    lws_context_destroy(context);
    return failed;
}
