/*
 * extpoll: libwebsockets' external-poll integration, as its test-server
 * does with LWS_WITH_EXTERNAL_POLL: the application keeps its own pollfd
 * array, filled from LWS_CALLBACK_ADD_POLL_FD / DEL_POLL_FD /
 * CHANGE_MODE_POLL_FD in protocols[0], polls it, hands each ready entry to
 * lws_service_fd(), and lets lws_service_adjust_timeout() say when a forced
 * service (and a timer) is due. Sends three messages, each after the echo
 * of the one before, and a timer set from a callback closes the connection.
 *
 *   extpoll -p PORT
 */
#include <libwebsockets.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FDS 64

static struct lws_pollfd pollfds[MAX_FDS];
static int count_pollfds, ever_added, locks, failed, done;
static int sent, received;

static int find(lws_sockfd_type fd)
{
    int n;

    for (n = 0; n < count_pollfds; n++)
        if (pollfds[n].fd == fd)
            return n;
    return -1;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct lws_pollargs *pa = (struct lws_pollargs *)in;
    unsigned char buf[LWS_PRE + 32];
    int n;

    switch (reason) {
    case LWS_CALLBACK_LOCK_POLL:
        locks++;
        break;
    case LWS_CALLBACK_UNLOCK_POLL:
        locks--;
        break;
    case LWS_CALLBACK_ADD_POLL_FD:
        if (count_pollfds >= MAX_FDS)
            return 1;
        pollfds[count_pollfds].fd = pa->fd;
        pollfds[count_pollfds].events = (short)pa->events;
        pollfds[count_pollfds++].revents = 0;
        ever_added++;
        break;
    case LWS_CALLBACK_DEL_POLL_FD:
        n = find(pa->fd);
        if (n >= 0)
            pollfds[n] = pollfds[--count_pollfds];
        break;
    case LWS_CALLBACK_CHANGE_MODE_POLL_FD:
        n = find(pa->fd);
        if (n >= 0)
            pollfds[n].events = (short)pa->events;
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        printf("connection error\n");
        failed = done = 1;
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        printf("established\n");
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        n = lws_snprintf((char *)buf + LWS_PRE, 32, "message %d", ++sent);
        if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
            return -1;
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        printf("received: %.*s\n", (int)len, (const char *)in);
        if (++received < 3)
            lws_callback_on_writable(wsi);
        else
            lws_set_timer_usecs(wsi, 200 * LWS_US_PER_MS);
        break;
    case LWS_CALLBACK_TIMER:
        printf("timer fired\n");
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"done", 4);
        return -1;
    case LWS_CALLBACK_CLIENT_CLOSED:
        printf("closed\n");
        done = 1;
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    { "extpoll", callback, 0, 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 }
};

int main(int argc, const char **argv)
{
    struct lws_context_creation_info info;
    struct lws_client_connect_info ci;
    struct lws_context *context;
    const char *p;
    int n, port = 7681;

    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    if ((p = lws_cmdline_option(argc, argv, "-p")))
        port = atoi(p);

    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    context = lws_create_context(&info);
    if (!context)
        return 1;

    memset(&ci, 0, sizeof ci);
    ci.context = context;
    ci.address = "127.0.0.1";
    ci.port = port;
    ci.path = "/";
    ci.host = ci.address;
    ci.origin = ci.address;
    ci.protocol = NULL;
    if (!lws_client_connect_via_info(&ci))
        failed = done = 1;

    while (!done) {
        /* the application's single poll, which could hold its own descriptors too */
        n = poll(pollfds, (nfds_t)count_pollfds, lws_service_adjust_timeout(context, 1000, 0));
        if (n < 0)
            break;
        for (n = 0; n < count_pollfds; n++)
            if (pollfds[n].revents && lws_service_fd(context, &pollfds[n]) < 0)
                done = failed = 1;
        /* forced service: buffered input, deferred work and due timers */
        while (!done && !lws_service_adjust_timeout(context, 1, 0))
            if (lws_service_tsi(context, -1, 0) < 0)
                done = failed = 1;
    }
    lws_context_destroy(context);
    printf("descriptors announced: %s, all withdrawn: %s, locks balanced: %s\n", ever_added ? "yes" : "no",
           count_pollfds ? "no" : "yes", locks ? "no" : "yes");
    return failed;
}
