/* Stand-in for lwIP's lwip/sys.h (see sockets.h here): sys_now() is
   lwIP's millisecond clock. */
#ifndef README_LWIP_SYS_H
#define README_LWIP_SYS_H
#include <stdint.h>
#include <time.h>
static inline uint32_t sys_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}
#endif
