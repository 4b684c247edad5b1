#!/bin/sh
# build.sh [output-directory]: builds net-guest.elf, the network guest (a netfront with ping and
# bulk-transfer programs, see net.c), with Debian's
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
$CC $CFLAGS -c net.c -o "$objects/net.o"
$CC $CFLAGS -static -T net.ld -Wl,--build-id=none -Wl,--no-relax "$objects/start.o" "$objects/net.o" -o "$output/net-guest.elf"
