/*
 * stdin-echo.h: the WebSocket half shared by the event-loop examples
 * (poll-loop.c, glib-loop.c, uv-loop.c, libevent-loop.c). Each of them
 * watches standard input and the context's descriptor in its own loop;
 * this part sends every line read from standard input as a text message
 * and prints the echo, and closes once standard input has ended and every
 * line has come back.
 *
 * It queues lines from outside ws_service() (the loop's stdin handler)
 * and asks for CLIENT_WRITEABLE there: wsloop makes its descriptor readable
 * for that, so the loop needs no extra wake-up of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wsloop.h>

#define MAX_LINES 64
#define MAX_LINE 1024

static struct ws_context *context;
static struct ws *client;
static char lines[MAX_LINES][MAX_LINE];
static size_t line_len[MAX_LINES];
static unsigned head, tail; /* lines[tail..head) wait to be sent */
static unsigned sent, echoed;
static int established, input_done, done, failed;
static char partial[MAX_LINE];
static size_t partial_len;

/* Asks for CLIENT_WRITEABLE when there is a line to send or it is time to close. */
static void want_write(void)
{
    if (client && established && (head != tail || (input_done && echoed == sent)))
        ws_callback_on_writable(client);
}

static void queue_line(const char *p, size_t n)
{
    if (head - tail == MAX_LINES || n >= MAX_LINE) {
        fprintf(stderr, "line dropped: queue full or line too long\n");
        return;
    }
    memcpy(lines[head % MAX_LINES], p, n);
    line_len[head % MAX_LINES] = n;
    head++;
}

/*
 * Standard input is readable: read what is there and queue each complete
 * line. Returns 0 once it has ended (the loop stops watching it).
 */
static int stdin_readable(void)
{
    char buf[4096];
    ssize_t n = read(0, buf, sizeof buf);
    ssize_t i;

    if (n <= 0) {
        input_done = 1;
        want_write();
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            queue_line(partial, partial_len);
            partial_len = 0;
        } else if (partial_len < sizeof partial - 1) {
            partial[partial_len++] = buf[i];
        }
    }
    want_write();
    return 1;
}

static int callback_echo(struct ws *wsi, enum ws_callback_reasons reason, void *user, void *in, size_t len)
{
    switch (reason) {
    case WS_CALLBACK_CLIENT_CONNECTION_ERROR:
        fprintf(stderr, "connection error: %s\n", (const char *)in);
        client = NULL;
        failed = done = 1;
        break;
    case WS_CALLBACK_CLIENT_ESTABLISHED:
        printf("established\n");
        fflush(stdout);
        established = 1;
        want_write();
        break;
    case WS_CALLBACK_CLIENT_WRITEABLE: {
        unsigned char buf[WS_PRE + MAX_LINE];
        size_t n;
        if (head == tail)
            return input_done && echoed == sent ? -1 : 0; /* -1: close (1000) */
        n = line_len[tail % MAX_LINES];
        memcpy(buf + WS_PRE, lines[tail % MAX_LINES], n);
        tail++;
        if (ws_write(wsi, buf + WS_PRE, n, WS_WRITE_TEXT) < (int)n)
            return -1;
        sent++;
        want_write();
        break;
    }
    case WS_CALLBACK_CLIENT_RECEIVE:
        printf("echo: %.*s\n", (int)len, (const char *)in);
        fflush(stdout);
        echoed++;
        want_write();
        break;
    case WS_CALLBACK_CLIENT_CLOSED:
        printf("closed after %u echoes\n", echoed);
        client = NULL;
        done = 1;
        break;
    default:
        break;
    }
    return ws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct ws_protocols protocols[] = {
    { "stdin-echo", callback_echo, 0, 0, 0, NULL, 0 },
    WS_PROTOCOL_LIST_TERM
};

/* Creates the context and starts the connection: -a ADDRESS -p PORT. */
static int start(int argc, char **argv)
{
    struct ws_context_creation_info info;
    struct ws_client_connect_info ci;
    const char *address = "127.0.0.1";
    int port = 7681, i;

    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-a"))
            address = argv[i + 1];
        else if (!strcmp(argv[i], "-p"))
            port = atoi(argv[i + 1]);
    }
    memset(&info, 0, sizeof info);
    info.port = WS_CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    context = ws_create_context(&info);
    if (!context)
        return -1;
    memset(&ci, 0, sizeof ci);
    ci.context = context;
    ci.address = address;
    ci.port = port;
    ci.path = "/";
    ci.pwsi = &client;
    if (!ws_client_connect_via_info(&ci))
        return -1;
    return 0;
}
