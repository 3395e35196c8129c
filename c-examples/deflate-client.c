/*
 * deflate-client: permessage-deflate (RFC 7692) the plain wsloop way: one
 * flag on the context, no extension table. Sends messages of JSON-like
 * text, which compress to about a fifth, and checks every echoed byte.
 *
 *   deflate-client [-a address] [-p port] [-n messages] [-s size] [-u]
 *
 *   -u  this connection opts out (WS_CONNECT_NO_PERMESSAGE_DEFLATE): it
 *       offers nothing and runs uncompressed, its context's flag or not
 *
 * Prints what the server answered to the offer, one line per message and a
 * summary; exits 0 when every echo matched. Compression changes nothing
 * for the callbacks: messages still arrive in chunks of at most
 * rx_buffer_size with WS_PRE headroom and a NUL after the last byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wsloop.h>

struct session {
    int sent, checked;
    size_t rx_len; /* bytes of the current echo received so far */
    int mismatch;
};

static int total = 4, done, failed;
static size_t size = 16384;
static unsigned char *message; /* what every message carries */
static unsigned char *tx;      /* WS_PRE + size: ws_write() may change it */

/* Records like an API's answer: the same keys, varying values. */
static void fill_json(unsigned char *p, size_t n)
{
    char rec[96];
    size_t at = 0;
    int i, k;

    for (i = 0; at < n; i++) {
        k = snprintf(rec, sizeof rec, "{\"id\":%d,\"user\":\"user%d\",\"price\":%d.%02d,\"ok\":%s},", i,
                     i * 7919 % 1000, i * 37 % 997, i % 100, i % 3 ? "false" : "true");
        if ((size_t)k > n - at)
            k = (int)(n - at);
        memcpy(p + at, rec, (size_t)k);
        at += (size_t)k;
    }
}

static int callback(struct ws *wsi, enum ws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct session *pss = (struct session *)user;
    char ext[128];

    switch (reason) {
    case WS_CALLBACK_CLIENT_CONNECTION_ERROR:
        fprintf(stderr, "connection error: %s\n", in ? (const char *)in : "(null)");
        failed = done = 1;
        break;
    case WS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
        /* The server's answer to the offer; empty: it runs uncompressed. */
        if (ws_hdr_copy(wsi, ext, sizeof ext, WS_WSI_TOKEN_EXTENSIONS) <= 0)
            strcpy(ext, "none");
        printf("compression: %s\n", ext);
        break;
    case WS_CALLBACK_CLIENT_ESTABLISHED:
        ws_callback_on_writable(wsi);
        break;
    case WS_CALLBACK_CLIENT_WRITEABLE:
        if (pss->sent >= total || pss->sent > pss->checked)
            break; /* one message in flight */
        memcpy(tx + WS_PRE, message, size);
        if (ws_write(wsi, tx + WS_PRE, size, WS_WRITE_TEXT) < (int)size)
            return -1;
        pss->sent++;
        break;
    case WS_CALLBACK_CLIENT_RECEIVE:
        if (pss->rx_len + len > size || (len && memcmp(in, message + pss->rx_len, len)))
            pss->mismatch = 1;
        pss->rx_len += len;
        if (!ws_is_final_fragment(wsi) || ws_remaining_packet_payload(wsi))
            break;
        pss->checked++;
        printf("message %d: %zu bytes echoed, %s\n", pss->checked, pss->rx_len,
               pss->mismatch || pss->rx_len != size ? "WRONG" : "ok");
        if (pss->mismatch || pss->rx_len != size)
            failed = 1;
        pss->rx_len = 0;
        pss->mismatch = 0;
        if (pss->checked == total) {
            ws_close_reason(wsi, WS_CLOSE_STATUS_NORMAL, (unsigned char *)"done", 4);
            return -1;
        }
        ws_callback_on_writable(wsi);
        break;
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
    { "deflate-example", callback, sizeof(struct session), 4096, 0, NULL, 0 }, WS_PROTOCOL_LIST_TERM
};

int main(int argc, const char **argv)
{
    struct ws_context_creation_info info;
    struct ws_client_connect_info ci;
    struct ws_context *ctx;
    const char *p;
    int n = 0;

    memset(&ci, 0, sizeof ci);
    ci.address = "127.0.0.1";
    ci.port = 7681;
    if ((p = ws_cmdline_option(argc, argv, "-a")))
        ci.address = p;
    if ((p = ws_cmdline_option(argc, argv, "-p")))
        ci.port = atoi(p);
    if ((p = ws_cmdline_option(argc, argv, "-n")))
        total = atoi(p);
    if ((p = ws_cmdline_option(argc, argv, "-s")))
        size = (size_t)atol(p);
    if (ws_cmdline_option(argc, argv, "-u"))
        ci.wsloop_flags |= WS_CONNECT_NO_PERMESSAGE_DEFLATE;

    message = malloc(size + 1);
    tx = malloc(WS_PRE + size + 1);
    if (!message || !tx)
        return 1;
    fill_json(message, size);

    memset(&info, 0, sizeof info);
    info.port = WS_CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    /* Offer permessage-deflate on every connection of this context. */
    info.wsloop_flags = WS_CONTEXT_PERMESSAGE_DEFLATE;
    ctx = ws_create_context(&info);
    if (!ctx)
        return 1;

    ci.context = ctx;
    ci.host = ci.address;
    ci.path = "/";
    if (!ws_client_connect_via_info(&ci))
        failed = done = 1;

    while (n >= 0 && !done)
        n = ws_service(ctx, 0);
    ws_context_destroy(ctx);
    free(message);
    free(tx);
    if (!failed)
        printf("OK\n");
    return failed;
}
