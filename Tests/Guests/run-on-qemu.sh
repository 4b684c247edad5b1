#!/bin/sh
# Build every guest program with the GNU cross tools and run it on QEMU.
#
#   Tests/Guests/run-on-qemu.sh              all privileged programs, on spike and on virt
#   Tests/Guests/run-on-qemu.sh vm atomics   only those programs
#
# Prints one PASS/FAIL line per program and machine; a failure names the check (the
# program's exit status). Exits non-zero when any run failed. Needs
# riscv64-unknown-elf-as/-ld and qemu-system-riscv32 (Debian: binutils-riscv64-unknown-elf,
# qemu-system-misc).
set -u

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

AS="riscv64-unknown-elf-as -march=rv32ima_zicsr_zifencei -mabi=ilp32 -mno-relax"
LD="riscv64-unknown-elf-ld -m elf32lriscv --no-relax -Ttext=0x80000000"
# The C extension is off so that a jump to a 2-byte-aligned address is misaligned, as on
# VirtLab (RV32IMA without C).
QEMU="qemu-system-riscv32 -cpu rv32,c=false -bios none -nographic -monitor none -serial null"

# QEMU's spike machine does not implement the `time` CSR (its CLINT does not provide
# rdtime), so the counter checks run on virt only.
skip_on_spike="counters"

build() { # build NAME SOURCE-DIRECTORY (from inside it, so .include finds its own files)
    (cd "$2" && $AS $(arch_of "$1") "$1.S" -o "$work/$1.o") && $LD "$work/$1.o" -o "$work/$1.elf"
}

# The h-*.S programs (in hypervisor/) test the hypervisor extension: assembled with H, run on a
# hart with H.
folder_of() { case "$1" in h-*) echo "$here/hypervisor" ;; *) echo "$here/privileged" ;; esac; }
arch_of() { case "$1" in h-*) echo "-march=rv32ima_zicsr_zifencei_h" ;; esac; }
cpu_of() { case "$1" in h-*) echo "-cpu rv32,c=false,h=true" ;; esac; }

failures=0
if [ $# -gt 0 ]; then programs="$*"; else
    programs=$(cd "$here/privileged" && ls *.S | sed 's/\.S$//'; cd "$here/hypervisor" && ls *.S | sed 's/\.S$//')
fi
for name in $programs; do
    if ! build "$name" "$(folder_of "$name")"; then
        echo "FAIL  $name: does not assemble or link"
        failures=$((failures + 1))
        continue
    fi
    for machine in spike virt; do
        case " $skip_on_spike " in *" $name "*)
            [ "$machine" = spike ] && { echo "SKIP  $name on $machine (no time CSR there)"; continue; } ;;
        esac
        timeout 20 $QEMU $(cpu_of "$name") -machine "$machine" -kernel "$work/$name.elf"
        status=$?
        if [ "$status" -eq 0 ]; then
            echo "PASS  $name on $machine"
        elif [ "$status" -eq 124 ]; then
            echo "FAIL  $name on $machine: timed out"
            failures=$((failures + 1))
        else
            echo "FAIL  $name on $machine: check $status failed"
            failures=$((failures + 1))
        fi
    done
done

# The demo prints through the UART and exits through the finisher of the virt board.
if [ $# -eq 0 ]; then
    if build hello "$here/../../Sources/VLabCLI/Guests"; then
        output=$(timeout 20 qemu-system-riscv32 -machine virt -bios none -nographic -monitor none \
            -kernel "$work/hello.elf")
        status=$?
        if [ "$status" -eq 0 ] && printf '%s' "$output" | grep -q "Back in M-mode"; then
            echo "PASS  demo/hello on virt"
        else
            echo "FAIL  demo/hello on virt: status $status"
            failures=$((failures + 1))
        fi
    else
        echo "FAIL  demo/hello: does not assemble or link"
        failures=$((failures + 1))
    fi
fi

[ "$failures" -eq 0 ]
