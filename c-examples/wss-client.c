/*
 * wss-client: a wss:// (WebSocket over TLS) client.
 *
 * Connects to wss://ADDRESS:PORT/, checking the server's certificate
 * against the system's CA certificates, or only against --ca FILE (a PEM
 * file; several certificates allowed). Sends one text message, prints the
 * echo and closes. A TLS failure arrives as CLIENT_CONNECTION_ERROR with
 * the cause in words: unknown issuer, self-signed, hostname mismatch,
 * expired, an alert from the server...
 *
 *   wss-client [-a address] [-p port] [--host name] [--ca file]
 *              [--allow-selfsigned] [--skip-hostname-check]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wsloop.h>

static int done, failed;

static int callback_wss(struct ws *wsi, enum ws_callback_reasons reason, void *user, void *in, size_t len)
{
    switch (reason) {
    case WS_CALLBACK_CLIENT_CONNECTION_ERROR:
        fprintf(stderr, "connection error: %s\n", in ? (const char *)in : "(null)");
        failed = done = 1;
        break;
    case WS_CALLBACK_CLIENT_ESTABLISHED:
        printf("established over TLS\n");
        ws_callback_on_writable(wsi);
        break;
    case WS_CALLBACK_CLIENT_WRITEABLE: {
        unsigned char buf[WS_PRE + 64];
        int n = snprintf((char *)buf + WS_PRE, 64, "hello over wss");
        if (ws_write(wsi, buf + WS_PRE, (size_t)n, WS_WRITE_TEXT) < n)
            return -1;
        break;
    }
    case WS_CALLBACK_CLIENT_RECEIVE:
        printf("received: %s\n", (const char *)in);
        return -1; /* close; the TLS session ends with close_notify */
    case WS_CALLBACK_CLIENT_CLOSED:
        printf("closed\n");
        done = 1;
        break;
    default:
        break;
    }
    return ws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct ws_protocols protocols[] = {
    { "wss-example", callback_wss, 0, 0, 0, NULL, 0 },
    WS_PROTOCOL_LIST_TERM
};

int main(int argc, char **argv)
{
    struct ws_context_creation_info info;
    struct ws_client_connect_info ci;
    struct ws_context *context;
    const char *address = "127.0.0.1", *host = NULL, *ca = NULL;
    int port = 443, flags = WS_LCCSCF_USE_SSL, n = 0, i;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--allow-selfsigned")) flags |= WS_LCCSCF_ALLOW_SELFSIGNED;
        else if (!strcmp(argv[i], "--skip-hostname-check")) flags |= WS_LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
        else if (i + 1 >= argc) break;
        else if (!strcmp(argv[i], "-a")) address = argv[++i];
        else if (!strcmp(argv[i], "-p")) port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--host")) host = argv[++i];
        else if (!strcmp(argv[i], "--ca")) ca = argv[++i];
    }

    memset(&info, 0, sizeof info);
    info.port = WS_CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    if (ca) {
        /* Trust this CA, and only it. */
        info.client_ssl_ca_filepath = ca;
        info.options |= WS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
    }
    context = ws_create_context(&info); /* a bad CA file fails here, with a log line */
    if (!context)
        return 1;

    memset(&ci, 0, sizeof ci);
    ci.context = context;
    ci.address = address;
    ci.port = port;
    ci.path = "/";
    ci.host = host ? host : address; /* the name checked against the certificate, and SNI */
    ci.ssl_connection = flags;
    if (!ws_client_connect_via_info(&ci)) {
        ws_context_destroy(context);
        return 1;
    }

    while (n >= 0 && !done)
        n = ws_service(context, 0);

    ws_context_destroy(context);
    return failed;
}
