#!/bin/sh
# The README's program and the examples must compile as C99 and as C++11
# (-Wall -Wextra -Werror): C++ users copy them too, and `= {0}` on a struct
# whose first member is an enum is an error there.
set -e
cd "$(dirname "$0")/../.."
mkdir -p build
# Every program in "Using it": build/readme_prog1.c, build/readme_prog2.c, ...
rm -f build/readme_prog*.c
awk '/^## Using it/ { on = 1; next } on && /^## / { exit }
     on && /^```c$/ { n++; p = 1; next } p && /^```$/ { p = 0; next }
     p { print > ("build/readme_prog" n ".c") }' README.md
test -s build/readme_prog1.c && test -s build/readme_prog2.c
for f in build/readme_prog*.c; do
    ${CC:-cc} -std=c99 -Wall -Wextra -Wpedantic -Werror -I. -o "${f%.c}" "$f"
    ${CXX:-g++} -std=c++11 -Wall -Wextra -Wpedantic -Werror -x c++ -I. -c -o "${f%.c}_cxx.o" "$f"
done
# The "Administration" snippets: functions, compiled together after the
# includes they assume.
{ printf '#define ETCD_IMPLEMENTATION\n#include "etcd.h"\n#include <stdio.h>\n'
  awk '/^## Administration/ { on = 1; next } on && /^## / { exit } on && /^```c$/ { p = 1; next } p && /^```$/ { p = 0; next } p'  README.md
} > build/readme_admin.c
grep -q 'etcd_snapshot_save' build/readme_admin.c
${CC:-cc} -std=c99 -Wall -Wextra -Wpedantic -Werror -Wno-missing-prototypes -I. -c -o build/readme_admin.o build/readme_admin.c
${CXX:-g++} -std=c++11 -Wall -Wextra -Wpedantic -Werror -x c++ -I. -c -o build/readme_admin_cxx.o build/readme_admin.c
# "Embedded targets": the transport for lwIP's socket API, against a
# stand-in of lwIP's headers (tests/compile/lwip), with ETCD_NO_SOCKETS.
awk '/^## Embedded targets/ { on = 1; next } on && /^## / { exit }
     on && /^```c$/ { p = 1; next } p && /^```$/ { exit } p' README.md > build/readme_lwip.c
grep -q 'ETCD_NO_SOCKETS' build/readme_lwip.c
${CC:-cc} -std=c99 -Wall -Wextra -Wpedantic -Werror -D_DEFAULT_SOURCE -Itests/compile/lwip -I. -c -o build/readme_lwip.o build/readme_lwip.c
${CXX:-g++} -std=c++11 -Wall -Wextra -Wpedantic -Werror -x c++ -Itests/compile/lwip -I. -c -o build/readme_lwip_cxx.o build/readme_lwip.c
for f in examples/*.c; do
    ${CXX:-g++} -std=c++11 -Wall -Wextra -Wpedantic -Werror -x c++ -I. -c -o "build/$(basename "$f" .c)_cxx.o" "$f"
done
echo "README program and examples compile as C and C++"
