/* impl.c - etcd.h's implementation, compiled once and linked into the bench
   programs that use only the public API (and measured by `size` for the
   footprint figure, built with -Os, with and without ETCD_USE_OPENSSL). */
#define ETCD_IMPLEMENTATION
#include "../etcd.h"
