/*
 * minimal-client: the smallest complete wsloop client.
 *
 * Connects to ws://ADDRESS:PORT/PATH, sends one text message, prints what
 * comes back, and closes. It shows the three things every client needs:
 * a protocol callback that ends in ws_callback_http_dummy(), the connection
 * error printed with its message, and the ws_service() loop.
 *
 *   minimal-client [-a address] [-p port] [--path /path]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wsloop.h>

static int done, failed;

static int callback_minimal(struct ws *wsi, enum ws_callback_reasons reason, void *user, void *in, size_t len)
{
    switch (reason) {
    case WS_CALLBACK_CLIENT_CONNECTION_ERROR:
        /* `in` always holds a one-line explanation. */
        fprintf(stderr, "connection error: %s\n", in ? (const char *)in : "(null)");
        failed = done = 1;
        break;
    case WS_CALLBACK_CLIENT_ESTABLISHED:
        printf("established\n");
        ws_callback_on_writable(wsi);
        break;
    case WS_CALLBACK_CLIENT_WRITEABLE: {
        unsigned char buf[WS_PRE + 64];
        int n = snprintf((char *)buf + WS_PRE, 64, "hello from wsloop");
        if (ws_write(wsi, buf + WS_PRE, (size_t)n, WS_WRITE_TEXT) < n)
            return -1;
        break;
    }
    case WS_CALLBACK_CLIENT_RECEIVE:
        /* Received text is NUL-terminated. */
        printf("received: %s\n", (const char *)in);
        return -1; /* close: wsloop sends a Close frame (1000) */
    case WS_CALLBACK_CLIENT_CLOSED:
        printf("closed\n");
        done = 1;
        break;
    default:
        break;
    }
    /* Every reason not handled above goes to the default handler. */
    return ws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct ws_protocols protocols[] = {
    { "minimal", callback_minimal, 0, 0, 0, NULL, 0 },
    WS_PROTOCOL_LIST_TERM
};

int main(int argc, char **argv)
{
    struct ws_context_creation_info info;
    struct ws_client_connect_info ci;
    struct ws_context *context;
    const char *address = "127.0.0.1", *path = "/";
    int port = 7681, n = 0, i;

    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-a")) address = argv[i + 1];
        else if (!strcmp(argv[i], "-p")) port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--path")) path = argv[i + 1];
    }

    memset(&info, 0, sizeof info);
    info.port = WS_CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    context = ws_create_context(&info);
    if (!context)
        return 1;

    memset(&ci, 0, sizeof ci);
    ci.context = context;
    ci.address = address;
    ci.port = port;
    ci.path = path;
    if (!ws_client_connect_via_info(&ci)) {
        ws_context_destroy(context);
        return 1;
    }

    /* Nothing happens on the network unless this loop runs. */
    while (n >= 0 && !done)
        n = ws_service(context, 0);

    ws_context_destroy(context);
    return failed;
}
