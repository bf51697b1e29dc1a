/* A stand-in for lwIP's lwip/sockets.h, so that the README's transport
   for lwIP compiles here (tests/compile/readme.sh): lwIP's socket API has
   the BSD calls under an lwip_ prefix, which this maps to the host's. */
#ifndef README_LWIP_SOCKETS_H
#define README_LWIP_SOCKETS_H
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/select.h>
#include <sys/socket.h>
#define lwip_socket     socket
#define lwip_connect    connect
#define lwip_recv       recv
#define lwip_send       send
#define lwip_close      close
#define lwip_fcntl      fcntl
#define lwip_select     select
#define lwip_getsockopt getsockopt
#endif
