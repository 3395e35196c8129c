/*
 * spam: many connections, as minimal-ws-client-spam does. Keeps -c
 * connections open at once until -l have been made. Each sends one message,
 * then kills itself with lws_set_timeout(PENDING_TIMEOUT_USER_OK,
 * LWS_TO_KILL_ASYNC); each close or error starts the next connection.
 *
 *   spam -p PORT [-c 10] [-l 50]
 */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct lws_context *context;
static int interrupted, port, concurrent = 10, limit = 50;
static int started, established, closed, errors;

struct pss {
    int number;
};

static int connect_one(void)
{
    struct lws_client_connect_info i;

    if (started >= limit)
        return 0;
    memset(&i, 0, sizeof i);
    i.context = context;
    i.port = port;
    i.address = "127.0.0.1";
    i.path = "/";
    i.host = i.address;
    i.origin = i.address;
    i.protocol = "lws-spam-test";
    i.local_protocol_name = "lws-spam-test";
    started++;
    return !lws_client_connect_via_info(&i);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct pss *pss = (struct pss *)user;
    unsigned char buf[LWS_PRE + 32];
    int n;

    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        errors++;
        goto next;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        pss->number = ++established;
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        n = lws_snprintf((char *)buf + LWS_PRE, 32, "hello %d", pss->number);
        if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
            return -1;
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        closed++;
        goto next;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);

next:
    if (closed + errors == limit) {
        interrupted = 1;
        /* lws may be about to wait in poll(): wake it to see the flag */
        lws_cancel_service(lws_get_context(wsi));
    } else
        connect_one();
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    { "lws-spam-test", callback, sizeof(struct pss), 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 } /* terminator */
};

int main(int argc, const char **argv)
{
    struct lws_context_creation_info info;
    const char *p;
    int n = 0, k;

    lws_set_log_level(LLL_ERR, NULL);
    port = atoi(lws_cmdline_option(argc, argv, "-p"));
    if ((p = lws_cmdline_option(argc, argv, "-c")))
        concurrent = atoi(p);
    if ((p = lws_cmdline_option(argc, argv, "-l")))
        limit = atoi(p);

    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.fd_limit_per_thread = (unsigned int)(1 + concurrent + 1);
    context = lws_create_context(&info);
    if (!context)
        return 1;

    for (k = 0; k < concurrent; k++)
        connect_one();

    while (n >= 0 && !interrupted)
        n = lws_service(context, 0);

    lws_context_destroy(context);
    printf("done: %d started, %d established, %d closed, %d errors\n", started, established, closed, errors);
    return errors != 0;
}
