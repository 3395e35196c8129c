/*
 * tx: the cross-thread producer pattern of minimal-ws-client-tx. Two
 * threads put messages in a mutex-protected lws_ring and wake the service
 * loop with lws_cancel_service(); EVENT_WAIT_CANCELLED asks for WRITEABLE,
 * which sends one message and asks again while more wait. The server echoes;
 * the program counts what comes back.
 *
 *   tx -p PORT [-n 50]   (messages per thread)
 */
#include <libwebsockets.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct msg {
    char text[32];
    size_t len;
};

static struct lws_context *context;
static struct lws *client_wsi;
static struct lws_ring *ring;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int interrupted, per_thread = 50, produced, sent, received, established;
static size_t bytes_received;
static pthread_t threads[2];

static void *producer(void *arg)
{
    int id = (int)(intptr_t)arg, i = 0;

    while (i < per_thread && !interrupted) {
        struct msg m;
        size_t ok;

        m.len = (size_t)lws_snprintf(m.text, sizeof(m.text), "thread %d message %d", id, i);
        pthread_mutex_lock(&lock);
        ok = lws_ring_insert(ring, &m, 1);
        if (ok)
            produced++;
        pthread_mutex_unlock(&lock);
        if (ok) {
            i++;
            lws_cancel_service(context); /* the one call safe from any thread */
        }
        usleep(1000);
    }
    return NULL;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    unsigned char buf[LWS_PRE + 32];
    const struct msg *m;
    int more = 0;

    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        printf("connection error\n");
        interrupted = 1;
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        printf("established\n");
        established = 1;
        pthread_create(&threads[0], NULL, producer, (void *)(intptr_t)0);
        pthread_create(&threads[1], NULL, producer, (void *)(intptr_t)1);
        break;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (client_wsi)
            lws_callback_on_writable(client_wsi);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        pthread_mutex_lock(&lock);
        m = lws_ring_get_element(ring, NULL);
        if (m) {
            memcpy(buf + LWS_PRE, m->text, m->len);
            if (lws_write(wsi, buf + LWS_PRE, m->len, LWS_WRITE_TEXT) < (int)m->len) {
                pthread_mutex_unlock(&lock);
                return -1;
            }
            sent++;
            lws_ring_consume(ring, NULL, NULL, 1);
            more = lws_ring_get_element(ring, NULL) != NULL;
        }
        pthread_mutex_unlock(&lock);
        if (more)
            lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        received++;
        bytes_received += len;
        if (received == 2 * per_thread) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"done", 4);
            return -1;
        }
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        printf("closed\n");
        client_wsi = NULL;
        interrupted = 1;
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    { "tx", callback, 0, 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 } /* terminator */
};

int main(int argc, const char **argv)
{
    struct lws_context_creation_info info;
    struct lws_client_connect_info i;
    const char *p;
    size_t expect = 0;
    int n = 0, t, k;

    lws_set_log_level(LLL_ERR, NULL);
    if ((p = lws_cmdline_option(argc, argv, "-n")))
        per_thread = atoi(p);

    ring = lws_ring_create(sizeof(struct msg), 8, NULL);
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    context = lws_create_context(&info);
    if (!context || !ring)
        return 1;

    memset(&i, 0, sizeof i);
    i.context = context;
    i.port = atoi(lws_cmdline_option(argc, argv, "-p"));
    i.address = "127.0.0.1";
    i.path = "/";
    i.host = i.address;
    i.origin = i.address;
    i.protocol = NULL;
    i.local_protocol_name = "tx";
    i.pwsi = &client_wsi;
    lws_client_connect_via_info(&i);

    while (n >= 0 && !interrupted)
        n = lws_service(context, 0);

    if (established) {
        pthread_join(threads[0], NULL);
        pthread_join(threads[1], NULL);
    }
    lws_context_destroy(context);
    lws_ring_destroy(ring);
    for (t = 0; t < 2; t++)
        for (k = 0; k < per_thread; k++) {
            char s[32];
            expect += (size_t)snprintf(s, sizeof s, "thread %d message %d", t, k);
        }
    printf("produced %d, sent %d, received %d, bytes %s\n", produced, sent, received,
           bytes_received == expect ? "match" : "MISMATCH");
    return received == 2 * per_thread ? 0 : 1;
}
