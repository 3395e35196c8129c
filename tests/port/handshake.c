/*
 * handshake: the upgrade request a client sends for a given connect info:
 * host, origin, a subprotocol offer and a header of its own added from
 * CLIENT_APPEND_HANDSHAKE_HEADER. The test's server sends the request it
 * received back as the first message (its Sec-WebSocket-Key replaced), and
 * this prints it. With -r the context has LWS_SERVER_OPTION_JUST_USE_RAW_ORIGIN.
 *
 *   handshake -p PORT [-r]
 */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int interrupted, failed;

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    static const char value[] = "port-test";
    unsigned char **p, *end;

    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        p = (unsigned char **)in;
        end = *p + len;
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)"x-client:",
                                        (const unsigned char *)value, (int)strlen(value), p, end))
            return -1;
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        printf("connection error\n");
        failed = interrupted = 1;
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        printf("%.*s", (int)len, (const char *)in);
        return -1;
    case LWS_CALLBACK_CLIENT_CLOSED:
        interrupted = 1;
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    { "chat", callback, 0, 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 } /* terminator */
};

int main(int argc, const char **argv)
{
    struct lws_context_creation_info info;
    struct lws_client_connect_info i;
    struct lws_context *context;
    int n = 0;

    lws_set_log_level(LLL_ERR, NULL);
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    if (lws_cmdline_option(argc, argv, "-r"))
        info.options |= LWS_SERVER_OPTION_JUST_USE_RAW_ORIGIN;
    context = lws_create_context(&info);
    if (!context)
        return 1;

    memset(&i, 0, sizeof i);
    i.context = context;
    i.port = atoi(lws_cmdline_option(argc, argv, "-p"));
    i.address = "127.0.0.1";
    i.path = "/chat?room=1";
    i.host = "example.org:8080";
    i.origin = "example.org";
    i.protocol = "chat, superchat";
    lws_client_connect_via_info(&i);

    while (n >= 0 && !interrupted)
        n = lws_service(context, 0);

    lws_context_destroy(context);
    return failed;
}
