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
for f in examples/*.c; do
    ${CXX:-g++} -std=c++11 -Wall -Wextra -Wpedantic -Werror -x c++ -I. -c -o "build/$(basename "$f" .c)_cxx.o" "$f"
done
echo "README program and examples compile as C and C++"
