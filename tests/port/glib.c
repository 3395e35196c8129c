/*
 * glib: a libwebsockets client joining the application's own GLib main
 * loop, as lws' foreign-loop example does: foreign_loops[0] is the
 * GMainLoop, and the program runs g_main_loop_run() and never calls
 * lws_service(). Sends three messages, each after the echo of the one
 * before, closes from an lws timer, and destroys the context from a
 * timeout of its own; the loop then runs on for 100 ms (nothing of the
 * context may fire any more) and quits.
 *
 *   glib -p PORT
 */
#define LOOP_NAME "glib"
#include "foreign-client.h"
#include <glib.h>

static GMainLoop *loop;

static gboolean quit_cb(gpointer unused)
{
    (void)unused;
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

/* The application's own timeout: destroys the context once the work is done. */
static gboolean check_cb(gpointer unused)
{
    (void)unused;
    if (!finish())
        return G_SOURCE_CONTINUE;
    g_timeout_add(100, quit_cb, NULL);
    return G_SOURCE_REMOVE;
}

int main(int argc, const char **argv)
{
    loop = g_main_loop_new(NULL, FALSE);
    if (start(argc, argv, LWS_SERVER_OPTION_GLIB, loop))
        return 1;
    g_timeout_add(20, check_cb, NULL);
    g_main_loop_run(loop);
    /* Left in the loop's context: nothing, or a source of the context's. */
    printf("loop ended, pending: %s\n", g_main_context_pending(NULL) ? "yes" : "no");
    g_main_loop_unref(loop);
    return failed;
}
