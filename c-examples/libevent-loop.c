/*
 * libevent-loop: a wsloop client inside a libevent event_base, which also
 * watches standard input. Each line typed is sent to the echo server and
 * the echo printed; at the end of input the connection closes and the loop
 * ends.
 *
 * The context is one persistent read event on ws_get_poll_fd() and one
 * timer event, re-armed from ws_get_poll_timeout_ms() after every
 * ws_service(context, -1).
 *
 *   cc libevent-loop.c $(pkg-config --cflags --libs libevent) ...
 *   libevent-loop [-a address] [-p port] < lines
 */
#define _POSIX_C_SOURCE 200809L
#include <event2/event.h>
#include "stdin-echo.h"

static struct event_base *base;
static struct event *ws_event, *stdin_event, *timer;

/* Runs what is due, then re-arms the timer (or leaves the loop, once done). */
static void service(void)
{
    struct timeval tv;
    int ms;

    if (ws_service(context, -1) < 0)
        done = 1;
    evtimer_del(timer);
    if (done) {
        event_base_loopbreak(base);
        return;
    }
    ms = ws_get_poll_timeout_ms(context);
    if (ms >= 0) {
        tv.tv_sec = ms / 1000;
        tv.tv_usec = (ms % 1000) * 1000;
        evtimer_add(timer, &tv);
    }
}

static void on_ws(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    service();
}

static void on_stdin(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    if (!stdin_readable())
        event_del(stdin_event);
}

int main(int argc, char **argv)
{
    if (start(argc, argv) < 0) {
        ws_context_destroy(context);
        return 1;
    }
    base = event_base_new();
    ws_event = event_new(base, ws_get_poll_fd(context), EV_READ | EV_PERSIST, on_ws, NULL);
    stdin_event = event_new(base, 0, EV_READ | EV_PERSIST, on_stdin, NULL);
    timer = evtimer_new(base, on_ws, NULL);
    event_add(ws_event, NULL);
    if (event_add(stdin_event, NULL) < 0) /* a regular file: epoll refuses it */
        while (stdin_readable())
            ; /* so read it all now */
    service(); /* arms the first timeout */
    if (!done)
        event_base_dispatch(base);
    event_free(ws_event);
    event_free(stdin_event);
    event_free(timer);
    event_base_free(base);
    ws_context_destroy(context);
    return failed;
}
