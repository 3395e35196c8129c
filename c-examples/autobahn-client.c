/*
 * autobahn-client: the echo client of the Autobahn test suite, for its
 * fuzzing server.
 *
 *   autobahn-client [-a address] [-p port] [-A agent] [-n]
 *
 * Asks the server how many cases it serves (/getCaseCount), runs them one
 * connection at a time (/runCase?case=N&agent=AGENT), echoing every message
 * with its opcode once it is complete (messages arrive in chunks and
 * fragments: ws_is_first_fragment / ws_is_final_fragment delimit them), then
 * asks the server to write its reports (/updateReports?agent=AGENT).
 * Offers permessage-deflate the way libwebsockets' echo client does (an
 * extension table with libwebsockets' usual offer), which the compression
 * cases (12.*, 13.*) need; -n offers no extension.
 * Writes happen only from WS_CALLBACK_CLIENT_WRITEABLE; messages that arrive
 * while earlier ones wait are queued in order.
 *
 * The verdicts are in the server's report. Exits 0 when every connection
 * was made, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wsloop.h>

/* A complete message waiting to be echoed, with WS_PRE bytes of headroom. */
struct msg {
    struct msg *next;
    unsigned char *buf; /* WS_PRE + len bytes */
    size_t len;
    int binary;
};

struct session {
    unsigned char *rx; /* the message being reassembled, WS_PRE + rx_cap + 1 bytes */
    size_t rx_len, rx_cap;
    int rx_binary;
    struct msg *head, *tail;
};

enum phase { PHASE_COUNT, PHASE_CASES, PHASE_REPORT, PHASE_DONE };

static enum phase phase = PHASE_COUNT;
static int case_count = -1, current_case, in_flight, errors;
static const char *agent = "wsloop";

static void free_session(struct session *pss)
{
    while (pss->head) {
        struct msg *m = pss->head;
        pss->head = m->next;
        free(m->buf);
        free(m);
    }
    pss->tail = NULL;
    free(pss->rx);
    pss->rx = NULL;
    pss->rx_len = pss->rx_cap = 0;
}

/* Appends a chunk to the message being reassembled; 0 on success. */
static int append(struct session *pss, const void *in, size_t len, size_t still_to_come)
{
    size_t need = pss->rx_len + len + still_to_come;
    if (need > pss->rx_cap || !pss->rx) {
        size_t cap = pss->rx_cap * 2 > need ? pss->rx_cap * 2 : need;
        unsigned char *p = realloc(pss->rx, WS_PRE + cap + 1);
        if (!p)
            return -1;
        pss->rx = p;
        pss->rx_cap = cap;
    }
    if (len)
        memcpy(pss->rx + WS_PRE + pss->rx_len, in, len);
    pss->rx_len += len;
    return 0;
}

/* Moves the reassembled message to the echo queue; 0 on success. */
static int enqueue(struct session *pss)
{
    struct msg *m = malloc(sizeof *m);
    if (!m)
        return -1;
    m->next = NULL;
    m->buf = pss->rx;
    m->len = pss->rx_len;
    m->binary = pss->rx_binary;
    if (pss->tail)
        pss->tail->next = m;
    else
        pss->head = m;
    pss->tail = m;
    pss->rx = NULL;
    pss->rx_len = pss->rx_cap = 0;
    return 0;
}

static void next_phase(void)
{
    switch (phase) {
    case PHASE_COUNT:
        if (case_count < 0) {
            fprintf(stderr, "no case count from the server\n");
            errors++;
            phase = PHASE_DONE;
        } else {
            current_case = 1;
            phase = case_count > 0 ? PHASE_CASES : PHASE_REPORT;
        }
        break;
    case PHASE_CASES:
        if (++current_case > case_count)
            phase = PHASE_REPORT;
        break;
    case PHASE_REPORT:
    case PHASE_DONE:
        phase = PHASE_DONE;
        break;
    }
}

static int callback_autobahn(struct ws *wsi, enum ws_callback_reasons reason, void *user, void *in,
                             size_t len)
{
    struct session *pss = (struct session *)user;

    switch (reason) {
    case WS_CALLBACK_CLIENT_CONNECTION_ERROR:
        fprintf(stderr, "connection error: %s\n", in ? (const char *)in : "(null)");
        errors++;
        break;
    case WS_CALLBACK_CLIENT_RECEIVE:
        if (ws_is_first_fragment(wsi)) {
            pss->rx_len = 0;
            pss->rx_binary = ws_frame_is_binary(wsi);
        }
        if (append(pss, in, len, ws_remaining_packet_payload(wsi)))
            return -1;
        if (!ws_is_final_fragment(wsi))
            break;
        if (phase == PHASE_COUNT) {
            pss->rx[WS_PRE + pss->rx_len] = '\0';
            case_count = atoi((const char *)pss->rx + WS_PRE);
            printf("%d cases\n", case_count);
            break;
        }
        if (enqueue(pss))
            return -1;
        ws_callback_on_writable(wsi);
        break;
    case WS_CALLBACK_CLIENT_WRITEABLE: {
        struct msg *m = pss->head;
        int n;
        if (!m)
            break;
        pss->head = m->next;
        if (!pss->head)
            pss->tail = NULL;
        n = ws_write(wsi, m->buf + WS_PRE, m->len, m->binary ? WS_WRITE_BINARY : WS_WRITE_TEXT);
        free(m->buf);
        free(m);
        if (n < 0)
            return -1;
        if (pss->head)
            ws_callback_on_writable(wsi);
        break;
    }
    case WS_CALLBACK_WSI_DESTROY:
        free_session(pss);
        in_flight = 0;
        next_phase();
        break;
    default:
        break;
    }
    return ws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct ws_protocols protocols[] = {
    { "autobahn", callback_autobahn, sizeof(struct session), 65536, 0, NULL, 0 },
    WS_PROTOCOL_LIST_TERM
};

static const struct ws_extension extensions[] = {
    { "permessage-deflate", ws_extension_callback_pm_deflate,
      "permessage-deflate; client_no_context_takeover; client_max_window_bits" },
    { NULL, NULL, NULL }
};

static int connect_next(struct ws_context *context, const char *address, int port)
{
    struct ws_client_connect_info ci;
    char path[256];

    if (phase == PHASE_COUNT)
        snprintf(path, sizeof path, "/getCaseCount");
    else if (phase == PHASE_CASES)
        snprintf(path, sizeof path, "/runCase?case=%d&agent=%s", current_case, agent);
    else
        snprintf(path, sizeof path, "/updateReports?agent=%s", agent);

    memset(&ci, 0, sizeof ci);
    ci.context = context;
    ci.address = address;
    ci.port = port;
    ci.path = path;
    ci.host = address;
    if (!ws_client_connect_via_info(&ci))
        return -1;
    in_flight = 1;
    return 0;
}

int main(int argc, char **argv)
{
    struct ws_context_creation_info info;
    struct ws_context *context;
    const char *address = "127.0.0.1";
    int port = 9001, n = 0, i, compress = 1;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-n")) compress = 0;
        else if (i + 1 == argc) break;
        else if (!strcmp(argv[i], "-a")) address = argv[++i];
        else if (!strcmp(argv[i], "-p")) port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-A")) agent = argv[++i];
    }

    memset(&info, 0, sizeof info);
    info.port = WS_CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    if (compress)
        info.extensions = extensions;
    context = ws_create_context(&info);
    if (!context)
        return 1;
    /* Compress every echo, however short (as libwebsockets does): the
     * suite's 12.* and 13.* cases are about compressed messages, and the
     * fuzzing server fails its own check on a short text echo sent plain
     * ("Strings must be encoded before hashing"). */
    if (compress && ws_set_permessage_deflate(context, 1, 0))
        return 1;

    while (n >= 0 && phase != PHASE_DONE) {
        if (!in_flight && connect_next(context, address, port)) {
            errors++;
            break;
        }
        n = ws_service(context, 0);
    }
    ws_context_destroy(context);
    printf("ran %d cases, %d connection errors\n", case_count < 0 ? 0 : case_count, errors);
    return errors || n < 0 ? 1 : 0;
}
