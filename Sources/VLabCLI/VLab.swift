import RISCV
