#!/bin/sh
# build.sh [output-directory]: builds the memory workloads with Debian's riscv64-unknown-elf-gcc,
# one image per workload from the same sources (see kernel.c):
#   pt-heavy.elf      32 address spaces, a context switch per quantum, remaps and permission changes
#   tlb-friendly.elf  a hot loop over 4 pages
#   tlb-hostile.elf   one word per page over 8192 pages (twice the TLB), 64 frames behind them
# Without an argument it rebuilds the committed images beside the sources.
# The build is reproducible: no debug info, and sources are named relative to this folder.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
output=${1:-$here}
case $output in /*) ;; *) output=$(pwd)/$output ;; esac
mkdir -p "$output"
objects=$(mktemp -d)
trap 'rm -rf "$objects"' EXIT

CC=${CC:-riscv64-unknown-elf-gcc}
CFLAGS="-march=rv32ima_zicsr_zifencei -mabi=ilp32 -nostdlib -ffreestanding -O2 -Wall -Wextra
 -fno-pie -fno-tree-loop-distribute-patterns -fno-builtin -ffile-prefix-map=$here=."

cd "$here"
$CC $CFLAGS -c start.S -o "$objects/start.o"
$CC $CFLAGS -c user.c -o "$objects/user.o"
build() {   # build image.elf -DWORKLOAD_...
    image=$1; shift
    $CC $CFLAGS "$@" -c kernel.c -o "$objects/kernel.o"
    $CC $CFLAGS -static -T memory.ld -Wl,--build-id=none -Wl,--no-relax \
        "$objects/start.o" "$objects/kernel.o" "$objects/user.o" -o "$output/$image"
}
build pt-heavy.elf -DWORKLOAD_PT_HEAVY
build tlb-friendly.elf -DWORKLOAD_TLB_FRIENDLY
build tlb-hostile.elf -DWORKLOAD_TLB_HOSTILE
