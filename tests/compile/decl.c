/* The declarations alone, after other headers, take no POSIX macro. */
#include <stdio.h>
#include "../../etcd.h"
int etcd_compile_check_decl(void);
int etcd_compile_check_decl(void) { return etcd_json_parse("1", 1, NULL, 0) == 1; }
