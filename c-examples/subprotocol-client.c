/*
 * subprotocol-client: the most common libwebsockets client mistake, and
 * its fix.
 *
 * First it offers the subprotocol "chat-v2" to a server that does not know
 * it; the server refuses the upgrade and CLIENT_CONNECTION_ERROR says so,
 * with the fix. Then it connects again the fixed way: `.protocol = NULL`
 * (offer nothing) and `.local_protocol_name` to keep its callbacks bound,
 * and exchanges a message.
 *
 *   subprotocol-client [-a address] [-p port]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wsloop.h>

static int attempt, done, established;
static char last_error[512];

static int callback_chat(struct ws *wsi, enum ws_callback_reasons reason, void *user, void *in, size_t len)
{
    switch (reason) {
    case WS_CALLBACK_CLIENT_CONNECTION_ERROR:
        snprintf(last_error, sizeof last_error, "%s", in ? (const char *)in : "(null)");
        printf("attempt %d: connection error: %s\n", attempt, last_error);
        done = 1;
        break;
    case WS_CALLBACK_CLIENT_ESTABLISHED:
        printf("attempt %d: established\n", attempt);
        established = 1;
        ws_callback_on_writable(wsi);
        break;
    case WS_CALLBACK_CLIENT_WRITEABLE: {
        unsigned char buf[WS_PRE + 16];
        memcpy(buf + WS_PRE, "hi", 2);
        if (ws_write(wsi, buf + WS_PRE, 2, WS_WRITE_TEXT) < 2)
            return -1;
        break;
    }
    case WS_CALLBACK_CLIENT_RECEIVE:
        printf("attempt %d: received '%s'\n", attempt, (const char *)in);
        return -1;
    case WS_CALLBACK_CLIENT_CLOSED:
        done = 1;
        break;
    default:
        break;
    }
    return ws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct ws_protocols protocols[] = {
    { "chat-v2", callback_chat, 0, 0, 0, NULL, 0 },
    WS_PROTOCOL_LIST_TERM
};

static int run(struct ws_context *context, const char *address, int port, const char *offer)
{
    struct ws_client_connect_info ci;
    int n = 0;

    memset(&ci, 0, sizeof ci);
    ci.context = context;
    ci.address = address;
    ci.port = port;
    ci.path = "/";
    ci.protocol = offer;                 /* what is offered to the server */
    ci.local_protocol_name = "chat-v2";  /* which callbacks run */
    done = established = 0;
    attempt++;
    if (!ws_client_connect_via_info(&ci))
        return 1;
    while (n >= 0 && !done)
        n = ws_service(context, 0);
    return !established;
}

int main(int argc, char **argv)
{
    struct ws_context_creation_info info;
    struct ws_context *context;
    const char *address = "127.0.0.1";
    int port = 7681, i, first, second;

    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-a")) address = argv[i + 1];
        else if (!strcmp(argv[i], "-p")) port = atoi(argv[i + 1]);
    }
    memset(&info, 0, sizeof info);
    info.port = WS_CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    context = ws_create_context(&info);
    if (!context)
        return 1;

    first = run(context, address, port, "chat-v2");   /* the mistake */
    second = run(context, address, port, NULL);       /* the fix */
    ws_context_destroy(context);

    /* Success means: the first attempt failed with a message naming the
     * subprotocol, and the second one worked. */
    if (first && strstr(last_error, "chat-v2") == NULL)
        return 2;
    return first && !second ? 0 : 1;
}
