/*
 * uv: a libwebsockets client joining the application's own libuv loop, as
 * lws' minimal examples do with --libuv and foreign_loops: the program runs
 * uv_run() and never calls lws_service(). Sends three messages, each after
 * the echo of the one before, closes from an lws timer, and destroys the
 * context from a uv timer of its own; the loop then ends by itself once
 * every handle is closed.
 *
 *   uv -p PORT
 */
#define LOOP_NAME "uv"
#include "foreign-client.h"
#include <uv.h>

static uv_timer_t check;

/* The application's own timer: destroys the context once the work is done. */
static void check_cb(uv_timer_t *t)
{
    if (!finish())
        return;
    uv_timer_stop(t);
    uv_close((uv_handle_t *)t, NULL);
}

int main(int argc, const char **argv)
{
    uv_loop_t loop;

    uv_loop_init(&loop);
    if (start(argc, argv, LWS_SERVER_OPTION_LIBUV, &loop))
        return 1;
    uv_timer_init(&loop, &check);
    uv_timer_start(&check, check_cb, 20, 20);
    uv_run(&loop, UV_RUN_DEFAULT); /* returns once no handle is left */
    printf("loop ended, uv_loop_close: %s\n", uv_loop_close(&loop) ? "busy" : "ok");
    return failed;
}
