#!/bin/sh
# build.sh [output-directory]: builds the teaching kernel's three images with Debian's
# riscv64-unknown-elf-gcc, from the same sources:
#   kernel.elf     the native kernel
#   kernel-pv.elf  the para-virtual kernel (-DKERNEL_PARAVIRTUAL: hypercalls, hypercall.h)
#   kernel-bt.elf  the kernel that uses vlab.popie (-DKERNEL_POPIE: runs only on VirtLab with
#                  the teaching ISA variant, or under the VMM's binary translation)
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
 -fno-pie -fno-tree-loop-distribute-patterns -ffile-prefix-map=$here=."

cd "$here"
build() {   # build image.elf [-Dvariant]
    image=$1; shift
    for source in boot.S firmware.c kernel.c user.c; do
        $CC $CFLAGS "$@" -c "$source" -o "$objects/${source%.*}.o"
    done
    $CC $CFLAGS -static -T kernel.ld -Wl,--build-id=none -Wl,--no-relax \
        "$objects/boot.o" "$objects/firmware.o" "$objects/kernel.o" "$objects/user.o" -o "$output/$image"
}
build kernel.elf
build kernel-pv.elf -DKERNEL_PARAVIRTUAL
build kernel-bt.elf -DKERNEL_POPIE
