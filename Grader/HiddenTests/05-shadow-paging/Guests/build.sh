#!/bin/sh
# build.sh [output-directory]: builds the Lab 05 hidden-test guests with Debian's
# riscv64-unknown-elf-gcc. Each guest is one kernel (NAME.c) over the shared runtime (boot.S,
# runtime.c) and user programs (user.c). Without an argument it rebuilds the committed images
# beside the sources. Reproducible: no debug info, sources named relative to this folder.
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
for source in boot.S runtime.c user.c; do
    $CC $CFLAGS -c "$source" -o "$objects/${source%.*}.o"
done
for guest in spaces remap superpages accessed-dirty permissions hostile; do
    $CC $CFLAGS -c "$guest.c" -o "$objects/$guest.o"
    $CC $CFLAGS -static -T guest.ld -Wl,--build-id=none -Wl,--no-relax \
        "$objects/boot.o" "$objects/runtime.o" "$objects/$guest.o" "$objects/user.o" -o "$output/$guest.elf"
done
