/*
 * fragments: receives per fragment, as minimal-ws-client-echo and -pmd-bulk
 * do. Asks the server for a text message in 4 fragments and a 70000-byte
 * binary message, prints each fragment of the first (lws_is_first_fragment,
 * lws_is_final_fragment, lws_frame_is_binary, lws_remaining_packet_payload)
 * and checks the second reassembled, then closes with a reason.
 *
 *   fragments -p PORT
 */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int interrupted, fragments, firsts, finals, failed;
static char text[256];
static size_t text_len, big_len;
static int big_ok = 1;

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    unsigned char buf[LWS_PRE + 64];
    const unsigned char *p = (const unsigned char *)in;
    size_t k;
    int n;

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
        n = lws_snprintf((char *)buf + LWS_PRE, 64, "%s", text_len ? "big:70000" : "fragments:4:hello fragmented world");
        if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
            return -1;
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (!lws_frame_is_binary(wsi)) {
            printf("fragment %d: len %d first %d final %d binary %d remaining %d\n", ++fragments, (int)len,
                   lws_is_first_fragment(wsi), lws_is_final_fragment(wsi), lws_frame_is_binary(wsi),
                   (int)lws_remaining_packet_payload(wsi));
            if (text_len + len < sizeof(text)) {
                memcpy(text + text_len, in, len);
                text_len += len;
            }
            if (lws_is_final_fragment(wsi)) {
                printf("message: \"%.*s\" in %d fragments\n", (int)text_len, text, fragments);
                lws_callback_on_writable(wsi); /* now ask for the big one */
            }
            break;
        }
        firsts += lws_is_first_fragment(wsi);
        for (k = 0; k < len; k++)
            if (p[k] != (unsigned char)((big_len + k) % 251))
                big_ok = 0;
        big_len += len;
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            finals++;
            printf("binary message of %d bytes, content %s, first flag %d time(s), final flag %d time(s)\n",
                   (int)big_len, big_ok ? "ok" : "WRONG", firsts, finals);
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"bye", 3);
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
    { "fragments", callback, 0, 1024, 0, NULL, 0 },
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
    i.protocol = protocols[0].name;
    lws_client_connect_via_info(&i);

    while (n >= 0 && !interrupted)
        n = lws_service(context, 0);

    lws_context_destroy(context);
    return failed || !big_ok;
}
