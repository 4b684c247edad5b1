#!/bin/sh
# build.sh [output-directory]: builds io-guest.elf, the I/O guest that drives a disk through the
# split driver, the emulated controller or the pass-through device (see io.c), with Debian's
# riscv64-unknown-elf-gcc. Without an argument it rebuilds the committed image beside the sources.
# The build is reproducible: no debug info, and sources are named relative to this folder.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
output=${1:-$here}
case $output in /*) ;; *) output=$(pwd)/$output ;; esac
mkdir -p "$output"
objects=$(mktemp -d)
trap 'rm -rf "$objects"' EXIT

CC=${CC:-riscv64-unknown-elf-gcc}
CFLAGS="-march=rv32ima_zicsr -mabi=ilp32 -nostdlib -ffreestanding -O2 -Wall -Wextra
 -fno-pie -fno-tree-loop-distribute-patterns -ffile-prefix-map=$here=."

cd "$here"
$CC $CFLAGS -c start.S -o "$objects/start.o"
$CC $CFLAGS -c io.c -o "$objects/io.o"
$CC $CFLAGS -static -T io.ld -Wl,--build-id=none -Wl,--no-relax "$objects/start.o" "$objects/io.o" -o "$output/io-guest.elf"
