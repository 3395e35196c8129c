/*
 * glib-loop: a wsloop client inside a GLib GMainLoop, which also watches
 * standard input. Each line typed is sent to the echo server and the echo
 * printed; at the end of input the connection closes and the loop quits.
 *
 * The context is one fd source (g_unix_fd_add on ws_get_poll_fd()) plus
 * one timeout source, re-armed from ws_get_poll_timeout_ms() after every
 * ws_service(context, -1).
 *
 *   cc glib-loop.c $(pkg-config --cflags --libs glib-2.0) ...
 *   glib-loop [-a address] [-p port] < lines
 */
#define _POSIX_C_SOURCE 200809L
#include <glib.h>
#include <glib-unix.h>
#include "stdin-echo.h"

static GMainLoop *loop;
static guint ws_source, timer_source;

static gboolean on_timer(gpointer data);

/* Runs what is due, then re-arms the timeout (or stops, once done). */
static void service(void)
{
    int ms;

    if (ws_service(context, -1) < 0)
        done = 1;
    if (timer_source)
        g_source_remove(timer_source);
    timer_source = 0;
    if (done) {
        g_main_loop_quit(loop);
        return;
    }
    ms = ws_get_poll_timeout_ms(context);
    if (ms >= 0)
        timer_source = g_timeout_add((guint)ms, on_timer, NULL);
}

static gboolean on_ws(gint fd, GIOCondition cond, gpointer data)
{
    (void)fd, (void)cond, (void)data;
    service();
    return done ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static gboolean on_timer(gpointer data)
{
    (void)data;
    timer_source = 0; /* this one-shot source ends when it returns REMOVE */
    service();
    return G_SOURCE_REMOVE;
}

static gboolean on_stdin(gint fd, GIOCondition cond, gpointer data)
{
    (void)fd, (void)cond, (void)data;
    return stdin_readable() ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

int main(int argc, char **argv)
{
    if (start(argc, argv) < 0) {
        ws_context_destroy(context);
        return 1;
    }
    loop = g_main_loop_new(NULL, FALSE);
    ws_source = g_unix_fd_add(ws_get_poll_fd(context), G_IO_IN, on_ws, NULL);
    g_unix_fd_add(0, G_IO_IN | G_IO_HUP, on_stdin, NULL);
    service(); /* arms the first timeout */
    if (!done)
        g_main_loop_run(loop);
    if (!done) /* the loop quit for another reason: the context's source is still there */
        g_source_remove(ws_source);
    g_main_loop_unref(loop);
    ws_context_destroy(context);
    return failed;
}
