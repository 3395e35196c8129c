/*
 * helpers: libwebsockets' helper calls client code leans on, with output
 * that must match between lws and wsloop: the lws_dll2 list, the ring's
 * in-place insert and multi-reader consume, and on a connection
 * lws_get_peer_simple, lws_get_socket_fd, lws_hdr_total_length,
 * lws_callback_all_protocol with a user reason, lws_set_timeout, served
 * with lws_service_tsi.
 *
 *   helpers -p PORT
 */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct item {
    lws_dll2_t list;
    int value;
};

static int print_item(struct lws_dll2 *d, void *user)
{
    struct item *it = lws_container_of(d, struct item, list);
    (void)user;
    printf(" %d", it->value);
    return 0;
}

static int by_value(const struct lws_dll2 *a, const struct lws_dll2 *b)
{
    return lws_container_of(a, struct item, list)->value - lws_container_of(b, struct item, list)->value;
}

static void lists(void)
{
    struct item it[6] = {{{0}, 30}, {{0}, 10}, {{0}, 20}, {{0}, 5}, {{0}, 25}, {{0}, 40}};
    lws_dll2_owner_t own, sorted;
    int n;

    memset(&own, 0, sizeof own);
    memset(&sorted, 0, sizeof sorted);
    lws_dll2_add_tail(&it[0].list, &own);
    lws_dll2_add_tail(&it[1].list, &own);
    lws_dll2_add_head(&it[2].list, &own);
    printf("dll2:");
    lws_dll2_foreach_safe(&own, NULL, print_item);
    printf(" (count %u)\n", (unsigned)own.count);
    lws_dll2_remove(&it[0].list);
    printf("dll2 after remove:");
    lws_dll2_foreach_safe(&own, NULL, print_item);
    printf(" (count %u, detached %d)\n", (unsigned)own.count, lws_dll2_is_detached(&it[0].list));
    for (n = 3; n < 6; n++)
        lws_dll2_add_sorted(&it[n].list, &sorted, by_value);
    lws_dll2_add_sorted(&it[0].list, &sorted, by_value);
    printf("dll2 sorted:");
    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&sorted)) {
        print_item(d, NULL);
    } lws_end_foreach_dll(d);
    printf("\n");
}

struct reader {
    struct reader *next;
    uint32_t tail;
};

static void ring(void)
{
    struct lws_ring *r = lws_ring_create(4, 8, NULL);
    struct reader a = {NULL, 0}, b = {NULL, 0}, *readers = &a;
    void *start;
    size_t bytes;
    uint32_t v;
    int n;

    a.next = &b;
    if (lws_ring_next_linear_insert_range(r, &start, &bytes))
        return;
    printf("ring: %d bytes free in place\n", (int)bytes);
    for (n = 0; n < 3; n++) {
        v = (uint32_t)(100 + n);
        memcpy((char *)start + n * 4, &v, 4);
    }
    lws_ring_bump_head(r, 12);
    printf("ring: %d waiting, %d free\n", (int)lws_ring_get_count_waiting_elements(r, NULL),
           (int)lws_ring_get_count_free_elements(r));
    lws_ring_consume_and_update_oldest_tail(r, struct reader, &a.tail, 2, readers, tail, next);
    printf("ring: a consumed 2, free %d (b still holds them)\n", (int)lws_ring_get_count_free_elements(r));
    lws_ring_consume_and_update_oldest_tail(r, struct reader, &b.tail, 3, readers, tail, next);
    printf("ring: b consumed 3, free %d\n", (int)lws_ring_get_count_free_elements(r));
    lws_ring_consume_and_update_oldest_tail(r, struct reader, &a.tail, 1, readers, tail, next);
    printf("ring: a consumed 1, free %d\n", (int)lws_ring_get_count_free_elements(r));
    lws_ring_destroy(r);
}

static int done, failed;

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    char name[64];

    switch ((int)reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        printf("connection error\n");
        failed = done = 1;
        break;
    case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
        printf("Upgrade header: %d bytes\n", lws_hdr_total_length(wsi, WSI_TOKEN_UPGRADE));
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        printf("established with %s, socket fd %s\n",
               lws_get_peer_simple(wsi, name, sizeof name) ? name : "?",
               lws_get_socket_fd(wsi) >= 0 ? "yes" : "no");
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        lws_callback_all_protocol(lws_get_context(wsi), lws_get_protocol(wsi), LWS_CALLBACK_USER + 1);
        break;
    case LWS_CALLBACK_USER + 1:
        printf("user reason on the connection\n");
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, 1);
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        printf("closed by the timeout\n");
        done = 1;
        /* lws closes from a timer inside lws_service(), which then goes
         * back to waiting: wake it so the loop sees `done`. */
        lws_cancel_service(lws_get_context(wsi));
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    { "helpers", callback, 0, 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 }
};

int main(int argc, const char **argv)
{
    struct lws_context_creation_info info;
    struct lws_client_connect_info ci;
    struct lws_context *context;
    const char *p;
    int n = 0;

    lws_set_log_level(LLL_ERR, NULL);
    lists();
    ring();

    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    context = lws_create_context(&info);
    if (!context)
        return 1;
    memset(&ci, 0, sizeof ci);
    ci.context = context;
    ci.address = "127.0.0.1";
    ci.port = (p = lws_cmdline_option(argc, argv, "-p")) ? atoi(p) : 7681;
    ci.path = "/";
    ci.host = ci.address;
    ci.origin = ci.address;
    if (!lws_client_connect_via_info(&ci))
        failed = done = 1;
    while (n >= 0 && !done)
        n = lws_service_tsi(context, 0, 0);
    lws_context_destroy(context);
    return failed;
}
