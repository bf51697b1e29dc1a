#!/bin/sh
# The README's program and the examples must compile as C99 and as C++11
# (-Wall -Wextra -Werror): C++ users copy them too, and `= {0}` on a struct
# whose first member is an enum is an error there.
set -e
cd "$(dirname "$0")/../.."
mkdir -p build
awk '/^## Using it/ { on = 1 } on && /^```c$/ { p = 1; next } p && /^```$/ { exit } p' README.md > build/readme_prog.c
test -s build/readme_prog.c
${CC:-cc} -std=c99 -Wall -Wextra -Wpedantic -Werror -I. -o build/readme_prog build/readme_prog.c
${CXX:-g++} -std=c++11 -Wall -Wextra -Wpedantic -Werror -x c++ -I. -c -o build/readme_prog_cxx.o build/readme_prog.c
# The "Administration" snippets: functions, compiled together after the
# includes they assume.
{ printf '#define ETCD_IMPLEMENTATION\n#include "etcd.h"\n#include <stdio.h>\n'
  awk '/^## Administration/ { on = 1; next } on && /^## / { exit } on && /^```c$/ { p = 1; next } p && /^```$/ { p = 0; next } p'  README.md
} > build/readme_admin.c
grep -q 'etcd_snapshot_save' build/readme_admin.c
${CC:-cc} -std=c99 -Wall -Wextra -Wpedantic -Werror -Wno-missing-prototypes -I. -c -o build/readme_admin.o build/readme_admin.c
${CXX:-g++} -std=c++11 -Wall -Wextra -Wpedantic -Werror -x c++ -I. -c -o build/readme_admin_cxx.o build/readme_admin.c
for f in examples/*.c; do
    ${CXX:-g++} -std=c++11 -Wall -Wextra -Wpedantic -Werror -x c++ -I. -c -o "build/$(basename "$f" .c)_cxx.o" "$f"
done
echo "README program and examples compile as C and C++"
