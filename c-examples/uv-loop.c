/*
 * uv-loop: a wsloop client inside a libuv loop, which also watches
 * standard input. Each line typed is sent to the echo server and the echo
 * printed; at the end of input the connection closes and the loop ends.
 *
 * The context is one uv_poll_t (readable on ws_get_poll_fd()) and one
 * uv_timer_t, re-armed from ws_get_poll_timeout_ms() after every
 * ws_service(context, -1). (Ported libwebsockets programs that pass their
 * uv loop in foreign_loops work too, with wsloop built with its `libuv`
 * feature; this is the way without it.)
 *
 *   cc uv-loop.c $(pkg-config --cflags --libs libuv) ...
 *   uv-loop [-a address] [-p port] < lines
 */
#define _POSIX_C_SOURCE 200809L
#include <uv.h>
#include "stdin-echo.h"

static uv_poll_t ws_watch, stdin_watch;
static uv_timer_t timer;
static int watching_stdin;

static void on_timer(uv_timer_t *t);

/* Runs what is due, then re-arms the timer, or closes the handles once done. */
static void service(void)
{
    int ms;

    if (ws_service(context, -1) < 0)
        done = 1;
    uv_timer_stop(&timer);
    if (done) {
        uv_close((uv_handle_t *)&ws_watch, NULL);
        uv_close((uv_handle_t *)&timer, NULL);
        if (watching_stdin && !uv_is_closing((uv_handle_t *)&stdin_watch))
            uv_close((uv_handle_t *)&stdin_watch, NULL);
        return;
    }
    ms = ws_get_poll_timeout_ms(context);
    if (ms >= 0)
        uv_timer_start(&timer, on_timer, (uint64_t)ms, 0);
}

static void on_ws(uv_poll_t *h, int status, int events)
{
    (void)h, (void)status, (void)events;
    service();
}

static void on_timer(uv_timer_t *t)
{
    (void)t;
    service();
}

static void on_stdin(uv_poll_t *h, int status, int events)
{
    (void)status, (void)events;
    if (!stdin_readable())
        uv_close((uv_handle_t *)h, NULL);
}

int main(int argc, char **argv)
{
    uv_loop_t *loop = uv_default_loop();

    if (start(argc, argv) < 0) {
        ws_context_destroy(context);
        return 1;
    }
    uv_poll_init(loop, &ws_watch, ws_get_poll_fd(context));
    uv_poll_start(&ws_watch, UV_READABLE, on_ws);
    watching_stdin = uv_poll_init(loop, &stdin_watch, 0) == 0;
    if (watching_stdin)
        uv_poll_start(&stdin_watch, UV_READABLE | UV_DISCONNECT, on_stdin);
    else /* a regular file, which epoll refuses: read it all now */
        while (stdin_readable())
            ;
    uv_timer_init(loop, &timer);
    uv_timer_start(&timer, on_timer, 0, 0); /* the first service */
    uv_run(loop, UV_RUN_DEFAULT); /* ends once every handle is closed */
    ws_context_destroy(context);
    uv_loop_close(loop);
    return failed;
}
