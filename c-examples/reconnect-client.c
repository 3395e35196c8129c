/*
 * reconnect-client: a connection that comes back by itself.
 *
 * Connects to ws://ADDRESS:PORT/PATH with WS_CONNECT_RECONNECT: when the
 * connection drops, or an attempt fails, wsloop waits as the retry policy
 * says and connects again, on the same wsi with the same user data. The
 * program says hello on every connection and closes after the first echo
 * it gets back; its own close ends the connection for good.
 *
 *   reconnect-client [-a address] [-p port] [--path /path]
 *
 * wsloop extensions used (libwebsockets has none of them):
 * WS_CONNECT_RECONNECT, WS_CALLBACK_CLIENT_RECONNECTING,
 * WS_CALLBACK_CLIENT_RECONNECTED, ws_reconnect_state(), ws_reconnect_final_code()
 * and WS_WRITE_RECONNECTING.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wsloop.h>

/* Kept across reconnects: `userdata` of the connect info. */
struct session {
    int connections;
};

static int done, failed;

static int callback_reconnect(struct ws *wsi, enum ws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct session *s = (struct session *)user;

    switch (reason) {
    case WS_CALLBACK_CLIENT_ESTABLISHED:
        s->connections++;
        printf("established (connection %d)\n", s->connections);
        /* 4000 from the server means "go away": no reconnect after it. */
        ws_reconnect_final_code(wsi, 4000);
        ws_callback_on_writable(wsi);
        break;
    case WS_CALLBACK_CLIENT_WRITEABLE: {
        unsigned char buf[WS_PRE + 64];
        int n = snprintf((char *)buf + WS_PRE, 64, "hello from connection %d", s->connections);
        int r = ws_write(wsi, buf + WS_PRE, (size_t)n, WS_WRITE_TEXT);
        if (r == WS_WRITE_RECONNECTING)
            break; /* it dropped meanwhile: say hello on the next connection */
        if (r < n)
            return -1;
        break;
    }
    case WS_CALLBACK_CLIENT_RECEIVE:
        printf("received: %s\n", (const char *)in);
        if (!strncmp((const char *)in, "hello", 5))
            return -1; /* our close: wsloop does not reconnect after it */
        break;
    case WS_CALLBACK_CLIENT_RECONNECTING: {
        uint32_t ms = 0;
        uint16_t attempt = 0;
        ws_reconnect_state(wsi, &ms, &attempt);
        /* `in` says why, NUL-terminated. */
        printf("down: %s; reconnecting in %u ms (attempt %u)\n", (const char *)in, (unsigned)ms,
               (unsigned)attempt);
        break;
    }
    case WS_CALLBACK_CLIENT_RECONNECTED:
        printf("reconnected\n");
        break;
    case WS_CALLBACK_CLIENT_CONNECTION_ERROR:
        /* The retry policy gave up. */
        fprintf(stderr, "connection error: %s\n", in ? (const char *)in : "(null)");
        failed = done = 1;
        break;
    case WS_CALLBACK_CLIENT_CLOSED:
        printf("closed after %d connection(s)\n", s->connections);
        done = 1;
        break;
    default:
        break;
    }
    return ws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct ws_protocols protocols[] = {
    { "reconnect", callback_reconnect, 0, 0, 0, NULL, 0 },
    WS_PROTOCOL_LIST_TERM
};

/* 250 ms, then 500 ms, then 1 s between attempts, each plus up to 20 %;
 * give up after 10 attempts in a row. */
static const uint32_t backoff_ms[] = { 250, 500, 1000 };
static const ws_retry_bo_t retry = {
    .retry_ms_table = backoff_ms,
    .retry_ms_table_count = 3,
    .conceal_count = 10,
    .jitter_percent = 20,
};

int main(int argc, char **argv)
{
    struct ws_context_creation_info info;
    struct ws_client_connect_info ci;
    struct ws_context *context;
    struct session session = { 0 };
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
    ci.userdata = &session;
    ci.retry_and_idle_policy = &retry;
    ci.wsloop_flags = WS_CONNECT_RECONNECT;
    if (!ws_client_connect_via_info(&ci)) {
        ws_context_destroy(context);
        return 1;
    }

    while (n >= 0 && !done)
        n = ws_service(context, 0);

    ws_context_destroy(context);
    return failed;
}
