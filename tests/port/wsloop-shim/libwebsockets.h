/* Lets the port programs build unmodified against wsloop: their
 * `#include <libwebsockets.h>` finds this file first (-I tests/port/wsloop-shim). */
#include <wsloop/lws-compat.h>
