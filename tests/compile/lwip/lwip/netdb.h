/* Stand-in for lwIP's lwip/netdb.h (see sockets.h here). */
#ifndef README_LWIP_NETDB_H
#define README_LWIP_NETDB_H
#include <netdb.h>
#define lwip_getaddrinfo  getaddrinfo
#define lwip_freeaddrinfo freeaddrinfo
#endif
