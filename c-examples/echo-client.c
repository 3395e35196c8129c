/*
 * echo-client: sends messages of growing size to an echo server and checks
 * every byte that comes back, reassembling messages that arrive in chunks.
 *
 *   echo-client [-a address] [-p port] [-n messages] [-s max_size]
 *
 * Prints one line per checked message and a summary; exits 0 when every
 * echo matched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wsloop.h>

struct session {
    int sent, checked;
    size_t rx_len;      /* bytes of the current message received so far */
    int mismatch;
};

static int total = 8, done, failed;
static size_t max_size = 256 * 1024;

static size_t size_of(int i)
{
    size_t s = (size_t)1 << (i * 3 % 21);
    return s > max_size ? max_size : s;
}

static unsigned char byte_at(int msg, size_t i)
{
    return (unsigned char)('a' + (msg + i) % 26);
}

static int callback_echo(struct ws *wsi, enum ws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct session *pss = (struct session *)user;

    switch (reason) {
    case WS_CALLBACK_CLIENT_CONNECTION_ERROR:
        fprintf(stderr, "connection error: %s\n", in ? (const char *)in : "(null)");
        failed = done = 1;
        break;
    case WS_CALLBACK_CLIENT_ESTABLISHED:
        printf("established\n");
        ws_callback_on_writable(wsi);
        break;
    case WS_CALLBACK_CLIENT_WRITEABLE: {
        size_t size = size_of(pss->sent), i;
        unsigned char *buf;
        if (pss->sent >= total || pss->sent > pss->checked)
            break; /* one message in flight */
        buf = malloc(WS_PRE + size);
        if (!buf)
            return -1;
        for (i = 0; i < size; i++)
            buf[WS_PRE + i] = byte_at(pss->sent, i);
        if (ws_write(wsi, buf + WS_PRE, size, WS_WRITE_TEXT) < (int)size) {
            free(buf);
            return -1;
        }
        free(buf); /* ws_write keeps what the socket did not take */
        pss->sent++;
        break;
    }
    case WS_CALLBACK_CLIENT_RECEIVE: {
        const unsigned char *p = (const unsigned char *)in;
        size_t i;
        if (ws_is_first_fragment(wsi))
            pss->rx_len = 0;
        for (i = 0; i < len; i++)
            if (p[i] != byte_at(pss->checked, pss->rx_len + i))
                pss->mismatch = 1;
        pss->rx_len += len;
        if (!ws_is_final_fragment(wsi))
            break;
        if (pss->mismatch || pss->rx_len != size_of(pss->checked)) {
            fprintf(stderr, "message %d: echo differs (%zu bytes)\n", pss->checked, pss->rx_len);
            failed = 1;
            return -1;
        }
        printf("message %d: %zu bytes echoed intact\n", pss->checked, pss->rx_len);
        pss->checked++;
        if (pss->checked == total) {
            ws_close_reason(wsi, WS_CLOSE_STATUS_NORMAL, (unsigned char *)"done", 4);
            return -1;
        }
        ws_callback_on_writable(wsi);
        break;
    }
    case WS_CALLBACK_CLIENT_CLOSED:
        printf("closed after %d of %d messages\n", pss->checked, total);
        if (pss->checked != total)
            failed = 1;
        done = 1;
        break;
    default:
        break;
    }
    return ws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct ws_protocols protocols[] = {
    { "echo", callback_echo, sizeof(struct session), 0, 0, NULL, 0 },
    WS_PROTOCOL_LIST_TERM
};

int main(int argc, char **argv)
{
    struct ws_context_creation_info info;
    struct ws_client_connect_info ci;
    struct ws_context *context;
    const char *address = "127.0.0.1";
    int port = 7681, n = 0, i;

    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-a")) address = argv[i + 1];
        else if (!strcmp(argv[i], "-p")) port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-n")) total = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-s")) max_size = (size_t)atol(argv[i + 1]);
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
    ci.path = "/";
    ci.host = address;
    ci.origin = address;
    if (!ws_client_connect_via_info(&ci)) {
        ws_context_destroy(context);
        return 1;
    }
    while (n >= 0 && !done)
        n = ws_service(context, 0);
    ws_context_destroy(context);
    printf("%s\n", failed ? "FAILED" : "OK");
    return failed;
}
