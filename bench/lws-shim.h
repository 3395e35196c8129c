/*
 * Lets bench/client.c, written against wsloop's names, build against
 * libwebsockets too: with -DUSE_LWS the ws_ names it uses become lws_ ones.
 * Only the names the benchmark needs; not a general compatibility header.
 */
#ifndef BENCH_LWS_SHIM_H
#define BENCH_LWS_SHIM_H

#ifdef USE_LWS
#include <libwebsockets.h>

#define BENCH_LIB "lws"
#define ws lws
#define ws_context lws_context
#define ws_protocols lws_protocols
#define ws_context_creation_info lws_context_creation_info
#define ws_extension lws_extension
#define ws_extension_callback_pm_deflate lws_extension_callback_pm_deflate
#define ws_client_connect_info lws_client_connect_info
#define ws_callback_reasons lws_callback_reasons
#define ws_create_context lws_create_context
#define ws_context_destroy lws_context_destroy
#define ws_client_connect_via_info lws_client_connect_via_info
#define ws_service lws_service
#define ws_write lws_write
#define ws_callback_on_writable lws_callback_on_writable
#define ws_callback_http_dummy lws_callback_http_dummy
#define ws_send_pipe_choked lws_send_pipe_choked
#define ws_set_log_level lws_set_log_level
#define ws_hdr_total_length lws_hdr_total_length
#define WS_WSI_TOKEN_EXTENSIONS WSI_TOKEN_EXTENSIONS
#define WS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH
#define WS_PRE LWS_PRE
#define WS_WRITE_BINARY LWS_WRITE_BINARY
#define WS_CONTEXT_PORT_NO_LISTEN CONTEXT_PORT_NO_LISTEN
#define WS_SERVER_OPTION_DO_SSL_GLOBAL_INIT LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT
#define WS_LCCSCF_USE_SSL LCCSCF_USE_SSL
#define WS_LLL_ERR LLL_ERR
#define WS_PROTOCOL_LIST_TERM { NULL, NULL, 0, 0, 0, NULL, 0 }
#define WS_CALLBACK_CLIENT_ESTABLISHED LWS_CALLBACK_CLIENT_ESTABLISHED
#define WS_CALLBACK_CLIENT_CONNECTION_ERROR LWS_CALLBACK_CLIENT_CONNECTION_ERROR
#define WS_CALLBACK_CLIENT_RECEIVE LWS_CALLBACK_CLIENT_RECEIVE
#define WS_CALLBACK_CLIENT_WRITEABLE LWS_CALLBACK_CLIENT_WRITEABLE
#define WS_CALLBACK_CLIENT_CLOSED LWS_CALLBACK_CLIENT_CLOSED

#else
#include <wsloop.h>

#define BENCH_LIB "wsloop"
#endif

#endif
