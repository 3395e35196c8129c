/* Prints the library's version string beside the header's version macros,
 * so tests/abi.rs can check that the three agree. */
#include <stdio.h>
#include <wsloop.h>

int main(void)
{
    char macros[32];
    snprintf(macros, sizeof macros, "%d.%d.%d", WSLOOP_VERSION_MAJOR, WSLOOP_VERSION_MINOR,
             WSLOOP_VERSION_PATCH);
    printf("library %s\nWSLOOP_VERSION %s\nWSLOOP_VERSION_MAJOR.MINOR.PATCH %s\n",
           ws_get_library_version(), WSLOOP_VERSION, macros);
    return 0;
}
