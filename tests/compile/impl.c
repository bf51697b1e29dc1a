/* The implementation must compile warning-free as the first include. */
#define ETCD_IMPLEMENTATION
#include "../../etcd.h"
#include "../../etcd.h"   /* a second include is harmless */
