/*
 * pmd: permessage-deflate from an extension table, as minimal-ws-client-
 * pmd-bulk does. Offers the extension, prints the Sec-WebSocket-Extensions
 * answer (at CLIENT_FILTER_PRE_ESTABLISH), sends one 133700-byte message as 1 KB fragments
 * (lws_write_ws_flags: LWS_WRITE_NO_FIN on all but the last, CONTINUATION
 * after the first) and checks the echo byte for byte as it arrives, then
 * closes with a reason.
 *
 *   pmd -p PORT [-n]
 *
 *   -n  send bytes that do not compress (a binary message) instead of
 *       repeated English text
 */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MESSAGE_SIZE 133700
#define FRAGMENT 1024

static const char text[] = "A message that compresses well repeats itself: the same words, "
                           "the same spaces, the same punctuation, again and again. ";

struct pss {
    size_t tx, rx;
    int fragments_sent, finals, mismatch;
    unsigned int tx_seed, rx_seed;
};

static int interrupted, failed, binary;

/* The byte at `pos`: text, or a pseudo-random stream with its own seed. */
static unsigned char byte_at(size_t pos, unsigned int *seed)
{
    if (!binary)
        return (unsigned char)text[pos % (sizeof(text) - 1)];
    *seed = *seed * 1103515245u + 12345u;
    return (unsigned char)(*seed >> 16);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct pss *pss = (struct pss *)user;
    unsigned char buf[LWS_PRE + FRAGMENT];
    const unsigned char *p = (const unsigned char *)in;
    char ext[128];
    size_t k, m;
    int flags;

    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        printf("connection error: %s\n", in ? (const char *)in : "(null)");
        failed = interrupted = 1;
        break;
    case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
        /* The response headers are still there (not at ESTABLISHED). */
        if (lws_hdr_copy(wsi, ext, sizeof ext, WSI_TOKEN_EXTENSIONS) < 0)
            ext[0] = '\0';
        printf("Sec-WebSocket-Extensions: %s\n", ext);
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        printf("established\n");
        pss->tx_seed = pss->rx_seed = 7;
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (pss->tx == MESSAGE_SIZE)
            break;
        m = MESSAGE_SIZE - pss->tx;
        if (m > FRAGMENT)
            m = FRAGMENT;
        for (k = 0; k < m; k++)
            buf[LWS_PRE + k] = byte_at(pss->tx + k, &pss->tx_seed);
        flags = lws_write_ws_flags(binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT, !pss->tx,
                                   pss->tx + m == MESSAGE_SIZE);
        if (lws_write(wsi, buf + LWS_PRE, m, (enum lws_write_protocol)flags) < (int)m)
            return -1;
        pss->tx += m;
        pss->fragments_sent++;
        if (pss->tx < MESSAGE_SIZE)
            lws_callback_on_writable(wsi);
        else
            printf("sent %d bytes in %d fragments\n", (int)pss->tx, pss->fragments_sent);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (lws_frame_is_binary(wsi) != binary)
            pss->mismatch = 1;
        for (k = 0; k < len; k++)
            if (p[k] != byte_at(pss->rx + k, &pss->rx_seed))
                pss->mismatch = 1;
        pss->rx += len;
        if (len > 4096)
            printf("a chunk of %d bytes is larger than rx_buffer_size\n", (int)len);
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            pss->finals++;
            if (pss->rx < MESSAGE_SIZE)
                break;
            printf("echo of %d bytes, content %s\n", (int)pss->rx, pss->mismatch ? "WRONG" : "ok");
            failed = pss->mismatch || pss->rx != MESSAGE_SIZE;
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"done", 4);
            return -1;
        }
        break;
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
    { "http", lws_callback_http_dummy, 0, 0, 0, NULL, 0 },
    { "lws-minimal-pmd-bulk", callback, sizeof(struct pss), 4096, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 } /* terminator */
};

static const struct lws_extension extensions[] = {
    { "permessage-deflate", lws_extension_callback_pm_deflate,
      "permessage-deflate; client_no_context_takeover; client_max_window_bits" },
    { NULL, NULL, NULL } /* terminator */
};

int main(int argc, const char **argv)
{
    struct lws_context_creation_info info;
    struct lws_client_connect_info i;
    struct lws_context *context;
    int n = 0;

    lws_set_log_level(LLL_ERR, NULL);
    binary = lws_cmdline_option(argc, argv, "-n") != NULL;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.extensions = extensions;
    context = lws_create_context(&info);
    if (!context)
        return 1;

    memset(&i, 0, sizeof i);
    i.context = context;
    i.port = atoi(lws_cmdline_option(argc, argv, "-p"));
    i.address = "127.0.0.1";
    i.path = "/";
    i.host = i.address;
    i.origin = i.address;
    i.local_protocol_name = "lws-minimal-pmd-bulk";
    lws_client_connect_via_info(&i);

    while (n >= 0 && !interrupted)
        n = lws_service(context, 0);

    lws_context_destroy(context);
    return failed;
}
