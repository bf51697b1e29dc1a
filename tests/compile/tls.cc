/* The implementation with TLS compiles warning-free too. */
#define ETCD_USE_OPENSSL
#define ETCD_IMPLEMENTATION
#include "../../etcd.h"
