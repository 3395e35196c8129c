/*
 * What the two Asio-based peer clients (beast-client.cpp,
 * websocketpp-client.cpp) share beside common.h: one io_context run by one
 * thread (concurrency hint 1), the per-connection window and echo check,
 * and the program's course: connect everything, then traffic, then the
 * result line. Each client brings its connections; everything here runs
 * on the io_context's thread.
 */
#ifndef BENCH_ASIO_CLIENT_HPP
#define BENCH_ASIO_CLIENT_HPP

#include "common.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <string>

namespace net = boost::asio;
using boost::system::error_code;

static net::io_context ioc(1);
static int established, sending, stopping;
static long received, finished, mismatches, errors;

/* Ends the current run of the io_context: setup when every connection is
 * up (or failed), traffic when every message was echoed or on a failure. */
static void stop_if_done(void)
{
    if (!sending) {
        if (established + errors >= o.conns)
            ioc.stop();
    } else if (errors || mismatches || (o.count && finished == o.conns - o.idle)) {
        ioc.stop();
    }
}

/* One connection's count of messages, as client.c keeps it. */
struct window {
    long sent = 0, recvd = 0;
    bool up = false, idle = false;

    /* Whether one more message may go out now. */
    bool open(void) const
    {
        return sending && !stopping && !idle && sent - recvd < o.inflight && (!o.count || sent < o.count);
    }

    void established_now(void)
    {
        up = true;
        established++;
        stop_if_done();
    }

    /* Checks one echoed message against what was sent; false (counted as a
     * mismatch, the run stops) when it differs. */
    bool echo(const void *data, size_t len)
    {
        if (len != o.size || recvd >= sent || memcmp(data, expected(recvd, 0), len)) {
            fprintf(stderr, "bench: echo %ld differs from what was sent\n", recvd);
            mismatches++;
            stop_if_done();
            return false;
        }
        recvd++;
        received++;
        if (o.count && recvd == o.count) {
            finished++;
            stop_if_done();
        }
        return true;
    }

    /* The connection failed (before it came up) or was lost (after). */
    void failed(const char *what, const std::string &why)
    {
        if (stopping)
            return;
        if (up)
            fprintf(stderr, "bench: connection lost during the run: %s: %s\n", what, why.c_str());
        else
            fprintf(stderr, "bench: connection error: %s: %s\n", what, why.c_str());
        errors++;
        stop_if_done();
    }
};

/* The traffic phase, in a function of its own so that callgrind can count
 * it alone (--toggle-collect=run_traffic); C linkage keeps that name. */
extern "C" __attribute__((noinline)) void run_traffic(void)
{
    ioc.run();
}

/*
 * The program after option parsing: `connect_all` creates and starts every
 * connection, `start(i, idle)` tells connection i whether it stays idle and
 * lets it fill its window. Returns the exit code.
 */
static int run_client(const char *lib, const std::function<void(void)> &connect_all,
                      const std::function<void(int, bool)> &start)
{
    struct result r;
    double t0;

    memset(&r, 0, sizeof r);
    r.lib = lib;
    progress_lib = lib;
    progress_established = &established;
    arm_limit();

    r.rss_before = rss_now();
    t0 = now_s();
    connect_all();
    ioc.run();
    r.connect_s = now_s() - t0;
    r.rss_after = rss_now();
    r.established = established;

    if ((o.count || o.duration > 0) && !errors) {
        net::steady_timer deadline(ioc);
        sending = 1;
        ioc.restart();
        traffic_begins();
        if (o.duration > 0) {
            deadline.expires_after(std::chrono::duration_cast<net::steady_timer::duration>(
                std::chrono::duration<double>(o.duration)));
            deadline.async_wait([](error_code ec) {
                if (!ec)
                    ioc.stop();
            });
        }
        for (int i = 0; i < o.conns; i++)
            start(i, i >= o.conns - o.idle);
        run_traffic();
        traffic_ended(&r);
    }
    stopping = 1;
    r.messages = received;
    r.mismatches = mismatches;
    r.errors = errors;
    return report(&r);
}

#endif
