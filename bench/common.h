/*
 * What the benchmark clients (client.c: WebSocket through wsloop or
 * libwebsockets; beast-client.cpp and websocketpp-client.cpp: the C++
 * peers; raw-client.c: plain TCP) share: options, the payload pattern,
 * clocks, memory readings and the result line. C99 and C++.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#ifndef _GNU_SOURCE /* g++ defines it already */
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct opts {
    const char *address;
    int port;
    int conns;        /* -c: connections */
    int inflight;     /* -w: messages in flight per connection */
    size_t size;      /* -s: payload bytes per message */
    long count;       /* -n: messages per connection (0: until -d ends) */
    double duration;  /* -d: seconds of traffic (0: until -n is reached) */
    int limit;        /* -t: seconds before giving up */
    int idle;         /* -i: connections (of -c) that stay idle */
    const char *ca;   /* -T: TLS, trusting the CA certificate(s) in this PEM file */
    int threads;      /* -P: threads, each with its own context and -c connections */
    int deflate;      /* -z: offer permessage-deflate (client.c only; see DEFLATE_OFFERS) */
    int json;         /* -j 1: JSON-like text instead of random bytes (compresses to ~1/5) */
    int addrs;        /* -A: spread connections over this many addresses (see conn_address) */
};

static struct opts o = { "127.0.0.1", 7681, 1, 1, 1024, 0, 2.0, 120, 0, NULL, 1, 0, 0, 1 };

/* -z N: the permessage-deflate offer N (1-3); the echo server echoes the
 * compressed frames as they are, which is a valid answer stream for each. */
#define DEFLATE_OFFERS                                                                   \
    {                                                                                    \
        NULL,                                                                            \
        /* 1: libwebsockets' examples' offer: the client keeps no context */            \
        "permessage-deflate; client_no_context_takeover; client_max_window_bits",       \
        /* 2: context takeover both ways */                                              \
        "permessage-deflate; client_max_window_bits",                                    \
        /* 3: no context takeover either way */                                          \
        "permessage-deflate; client_no_context_takeover; server_no_context_takeover"    \
    }

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [-a address] [-p port] [-c conns] [-w in_flight] [-s size]\n"
            "          [-n messages_per_conn] [-d seconds] [-t limit_seconds] [-i idle_conns]\n"
            "          [-T ca.pem] [-P threads] [-z offer] [-j 1] [-A addresses]\n"
            "  -n 0 -d 0: connect only (setup cell)\n"
            "  -i N: the last N connections stay idle while the others echo\n"
            "  -T FILE: TLS (wss://), verifying the server against this CA file\n"
            "  -P N: N threads, each with its own context and -c connections (one line, totals)\n"
            "  -z N: offer permessage-deflate: 1 lws' examples' offer, 2 context takeover both\n"
            "        ways, 3 no context takeover either way (client.c only)\n"
            "  -j 1: messages of JSON-like text instead of random bytes\n"
            "  -A N: connection i goes to the IPv4 address -a plus i %% N (127.0.0.1 ... 127.0.0.N,\n"
            "        which echo-server --addrs N listens on): one address toward one port\n"
            "        gives only as many connections as there are ephemeral ports\n", prog);
    exit(2);
}

static void parse_opts(int argc, char **argv)
{
    int i, d_set = 0;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v || a[0] != '-' || strlen(a) != 2)
            usage(argv[0]);
        switch (a[1]) {
        case 'a': o.address = v; break;
        case 'p': o.port = atoi(v); break;
        case 'c': o.conns = atoi(v); break;
        case 'w': o.inflight = atoi(v); break;
        case 's': o.size = (size_t)atol(v); break;
        case 'n': o.count = atol(v); break;
        case 'd': o.duration = atof(v); d_set = 1; break;
        case 't': o.limit = atoi(v); break;
        case 'i': o.idle = atoi(v); break;
        case 'T': o.ca = v; break;
        case 'P': o.threads = atoi(v); break;
        case 'z': o.deflate = atoi(v); break;
        case 'j': o.json = atoi(v); break;
        case 'A': o.addrs = atoi(v); break;
        default: usage(argv[0]);
        }
        i++;
    }
    if (o.conns < 1 || o.inflight < 1 || o.size < 1 || o.idle < 0 || o.idle >= o.conns || o.threads < 1 ||
        o.deflate < 0 || o.deflate > 3 || o.addrs < 1 || o.addrs > 254)
        usage(argv[0]);
    if (o.count && !d_set)
        o.duration = 0;
}

/* The address connection i goes to (-A). */
static const char *conn_address(int i)
{
    static char (*spread)[INET_ADDRSTRLEN];
    struct in_addr a;
    int k;
    if (o.addrs == 1)
        return o.address;
    if (!spread) {
        spread = (char (*)[INET_ADDRSTRLEN])calloc((size_t)o.addrs, sizeof *spread);
        if (!spread || inet_pton(AF_INET, o.address, &a) != 1) {
            fprintf(stderr, "bench: -A needs -a to be an IPv4 address, not %s\n", o.address);
            exit(2);
        }
        for (k = 0; k < o.addrs; k++) {
            struct in_addr b;
            b.s_addr = htonl(ntohl(a.s_addr) + (uint32_t)k);
            inet_ntop(AF_INET, &b, spread[k], INET_ADDRSTRLEN);
        }
    }
    return spread[i % o.addrs];
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Resident set now, in bytes. */
static long rss_now(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * sysconf(_SC_PAGESIZE);
}

static long rss_peak_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/*
 * Message k carries pattern[k % 256 ...], so consecutive messages differ and
 * a checker that lost or reordered one notices.
 */
static unsigned char *pattern;

static void make_pattern(void)
{
    size_t i;
    unsigned int x = 2463534242u;
    pattern = (unsigned char *)malloc(o.size + 256 + 128);
    if (!pattern) {
        perror("malloc");
        exit(1);
    }
    if (o.json) { /* records like an API's answer: the same keys, varying values */
        for (i = 0, x = 0; i < o.size + 256; x++)
            i += (size_t)sprintf((char *)pattern + i,
                                 "{\"id\":%u,\"user\":\"user%u\",\"price\":%u.%02u,\"ok\":%s},", x,
                                 x * 7919 % 1000, x * 37 % 997, x % 100, x % 3 ? "false" : "true");
        return;
    }
    for (i = 0; i < o.size + 256; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        pattern[i] = (unsigned char)x;
    }
}

static const unsigned char *expected(long msg, size_t offset)
{
    return pattern + (msg & 255) + offset;
}

/* What the time-limit handler reports: the library and connections up so far. */
static const char *progress_lib = "?";
static volatile const int *progress_established;

static void on_alarm(int sig)
{
    char line[256];
    int n = snprintf(line, sizeof line,
                     "lib=%s conns=%d inflight=%d size=%zu established=%d timed_out=%d\n",
                     progress_lib, o.conns, o.inflight, o.size,
                     progress_established ? *progress_established : -1, o.limit);
    static const char m[] = "bench: time limit reached, giving up\n";
    (void)sig;
    if (write(1, line, (size_t)n) < 0 || write(2, m, sizeof m - 1) < 0) {
        /* nothing more to do */
    }
    _exit(3);
}

static void arm_limit(void)
{
    signal(SIGALRM, on_alarm);
    alarm((unsigned)o.limit);
}

struct result {
    const char *lib;
    int established;
    double connect_s;
    long rss_before, rss_after; /* around connection setup */
    long rss_traffic;           /* after the traffic phase */
    long messages;              /* echoes received and checked */
    double traffic_s, traffic_cpu_s;
    long mismatches, errors;
    int negotiated;             /* connections whose answer accepted -z's offer */
};

/* The traffic phase's clocks: traffic_begins() returns its start time (for
 * a deadline), traffic_ended() records the wall and CPU time since. */
static double traffic_t0, traffic_c0;

static double traffic_begins(void)
{
    traffic_c0 = cpu_s();
    traffic_t0 = now_s();
    return traffic_t0;
}

static void traffic_ended(struct result *r)
{
    r->traffic_s = now_s() - traffic_t0;
    r->traffic_cpu_s = cpu_s() - traffic_c0;
    r->rss_traffic = rss_now();
}

static int report(const struct result *r)
{
    double mps = r->traffic_s > 0 ? (double)r->messages / r->traffic_s : 0;
    int total = o.conns * o.threads;
    printf("lib=%s%s threads=%d conns=%d idle=%d inflight=%d size=%zu established=%d connect_ms=%.2f "
           "rss_per_conn_b=%.0f rss_traffic_per_conn_b=%.0f deflate=%d json=%d msgs=%ld secs=%.3f msgs_per_s=%.0f mib_per_s=%.2f "
           "cpu_pct=%.0f rss_peak_kib=%ld negotiated=%d mismatches=%ld errors=%ld\n",
           r->lib, o.ca ? " tls=1" : "", o.threads, o.conns, o.idle, o.inflight, o.size, r->established, r->connect_s * 1e3,
           (double)(r->rss_after - r->rss_before) / total,
           r->rss_traffic ? (double)(r->rss_traffic - r->rss_before) / total : 0, o.deflate, o.json, r->messages, r->traffic_s, mps,
           mps * (double)o.size / (1024.0 * 1024.0),
           r->traffic_s > 0 ? 100.0 * r->traffic_cpu_s / r->traffic_s : 0, rss_peak_kib(),
           r->negotiated, r->mismatches, r->errors);
    fflush(stdout);
    if (o.deflate && r->negotiated != total) {
        fprintf(stderr, "bench: permessage-deflate was offered on %d connections and accepted on %d\n", total,
                r->negotiated);
        return 1;
    }
    return r->established == total && !r->mismatches && !r->errors ? 0 : 1;
}

#endif
