/*
 * libwebsockets.h for programs written against libwebsockets: with this
 * directory on the include path (pkg-config wsloop-lws, CMake's wsloop::lws,
 * or -I include/wsloop/lws in this source tree) their unchanged
 * `#include <libwebsockets.h>` gets libwebsockets' client API names on
 * wsloop. See wsloop/lws-compat.h.
 */
#include "../lws-compat.h"
