#!/bin/sh
# Builds vlab bench's workloads: static RV32IM ELF executables that talk to the kernel through
# the Linux syscall ABI (write, exit_group) with no libc, so the same image runs under vlab's
# LinuxProcess and under qemu-riscv32. The images are committed beside their sources and ship
# with vlab as resources, so a machine without the cross compiler can bench; a test rebuilds them
# into a temporary folder and compares bytes (GCC's output is deterministic for one version).
#
# usage: build.sh [OUTPUT_DIR]   (default: this folder)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
mkdir -p "$out"
out=$(cd "$out" && pwd)
CC=${CC:-riscv64-unknown-elf-gcc}
# Relative source names, so nothing about the build folder ends up in the images.
# -fno-tree-loop-distribute-patterns: the loops stay loops (no calls to memset/memcpy), so the
# instructions measured are the ones written. -msmall-data-limit=0: no .sdata/.srodata, whose
# read-only constants would otherwise pull the bss into the text's segment (one RWX segment);
# this way the code is alone on read-only, executable pages, as in any ordinary program.
cd "$here"
for workload in integer memory branch muldiv calls; do
    "$CC" -march=rv32im -mabi=ilp32 -nostdlib -static -O2 -Wall -Wextra -Werror \
        -fno-tree-loop-distribute-patterns -msmall-data-limit=0 \
        -o "$out/$workload.elf" "$workload.c" runtime.c start.S -lgcc
done
