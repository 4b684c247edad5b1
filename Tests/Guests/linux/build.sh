#!/bin/sh
# Builds the Linux user-mode guest programs: static RV32IM ELF executables that talk to the
# kernel through the Linux syscall ABI (ecall) with no libc. The built images are committed
# beside their sources so machines without the cross compiler run every test; a test rebuilds
# them into a temporary folder and compares bytes (GCC's output is deterministic for one version).
#
# usage: build.sh [OUTPUT_DIR]   (default: this folder)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
mkdir -p "$out"
out=$(cd "$out" && pwd)
CC=${CC:-riscv64-unknown-elf-gcc}
# Relative source names, so nothing about the build folder ends up in the images.
cd "$here"
for program in hello args upper status heap fileio sysinfo compute signals long; do
    "$CC" -march=rv32im -mabi=ilp32 -nostdlib -static -O2 -Wall -Wextra \
        -fno-tree-loop-distribute-patterns \
        -o "$out/$program.elf" "$program.c" runtime.c start.S -lgcc
done
# The debugging guest: -g -O0, with the build folder mapped to "." in the debug information so
# the image does not depend on where it was built.
"$CC" -march=rv32im -mabi=ilp32 -nostdlib -static -g -O0 -Wall -Wextra -fdebug-prefix-map="$here"=. \
    -o "$out/debuggee.elf" debuggee.c runtime.c start.S -lgcc
