#!/bin/sh
# build.sh [output.elf]: builds the teaching kernel with Debian's riscv64-unknown-elf-gcc.
# Without an argument it rebuilds kernel.elf beside the sources (the committed image).
# The build is reproducible: no debug info, and sources are named relative to this folder.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
output=${1:-$here/kernel.elf}
case $output in /*) ;; *) output=$(pwd)/$output ;; esac
objects=$(mktemp -d)
trap 'rm -rf "$objects"' EXIT

CC=${CC:-riscv64-unknown-elf-gcc}
CFLAGS="-march=rv32ima_zicsr_zifencei -mabi=ilp32 -nostdlib -ffreestanding -O2 -Wall -Wextra
 -fno-pie -fno-tree-loop-distribute-patterns -ffile-prefix-map=$here=."

cd "$here"
for source in boot.S firmware.c kernel.c user.c; do
    $CC $CFLAGS -c "$source" -o "$objects/${source%.*}.o"
done
$CC $CFLAGS -static -T kernel.ld -Wl,--build-id=none -Wl,--no-relax \
    "$objects/boot.o" "$objects/firmware.o" "$objects/kernel.o" "$objects/user.o" -o "$output"
