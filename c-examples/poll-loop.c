/*
 * poll-loop: a wsloop client inside an application's own poll(2) loop,
 * which also watches standard input. Each line typed is sent to the echo
 * server and the echo printed; at the end of input the connection closes.
 *
 * The context adds one descriptor and one timeout to the loop:
 * ws_get_poll_fd() is readable when the context has work, and
 * ws_get_poll_timeout_ms() says how long the loop may sleep (-1: until a
 * descriptor is ready). After each poll, ws_service(context, -1) does what
 * is due without waiting.
 *
 *   poll-loop [-a address] [-p port] < lines
 */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include "stdin-echo.h"

int main(int argc, char **argv)
{
    struct pollfd fds[2];
    int nfds = 2;

    if (start(argc, argv) < 0) {
        ws_context_destroy(context);
        return 1;
    }
    fds[0].fd = ws_get_poll_fd(context);
    fds[0].events = POLLIN;
    fds[1].fd = 0; /* standard input, until it ends */
    fds[1].events = POLLIN;

    while (!done) {
        if (poll(fds, (nfds_t)nfds, ws_get_poll_timeout_ms(context)) < 0)
            break;
        if (nfds > 1 && fds[1].revents && !stdin_readable())
            nfds = 1;
        if (ws_service(context, -1) < 0) /* cheap when nothing is ready */
            break;
    }
    ws_context_destroy(context);
    return failed;
}
