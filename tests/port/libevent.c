/*
 * libevent: a libwebsockets client joining the application's own libevent
 * loop: foreign_loops[0] is the struct event_base, and the program runs
 * event_base_dispatch() and never calls lws_service(). Sends three
 * messages, each after the echo of the one before, closes from an lws
 * timer, and destroys the context from a timer event of its own; the
 * dispatch then ends by itself once no event is left.
 *
 *   libevent -p PORT
 */
#define LOOP_NAME "libevent"
#include "foreign-client.h"
#include <event2/event.h>

static struct event *check;

/* The application's own timer: destroys the context once the work is done. */
static void check_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (!finish())
        return;
    event_del(check);
}

int main(int argc, const char **argv)
{
    struct timeval every = { 0, 20 * 1000 };
    struct event_base *base = event_base_new();
    int r;

    if (start(argc, argv, LWS_SERVER_OPTION_LIBEVENT, base))
        return 1;
    check = event_new(base, -1, EV_PERSIST, check_cb, NULL);
    event_add(check, &every);
    r = event_base_dispatch(base); /* 1 once no event is left */
    printf("loop ended, event_base_dispatch: %d\n", r);
    event_free(check);
    event_base_free(base);
    return failed;
}
