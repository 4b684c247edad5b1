/* The long run: 2.6 billion instructions (650 million per round, 4 rounds) of integer work:
 * an xorshift generator feeding a multiply-accumulate checksum, one line of output per round of
 * 50 million iterations. Shows that runs of billions of instructions print exactly what
 * qemu-riscv32 prints. argv[1] sets the number of rounds. */
#include "linux.h"

int guest_main(int argc, char **argv, char **envp, u32 *auxv) {
    (void)envp, (void)auxv;
    u32 rounds = argc > 1 ? (u32)parse_decimal(argv[1]) : 4;
    u32 x = 2463534242u, sum = 0, mixed = 0;
    for (u32 round = 0; round < rounds; round++) {
        for (u32 i = 0; i < 50000000u; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            sum += x * (i | 1);
            mixed ^= sum >> (i & 31);
        }
        put_string(1, "round ");
        put_decimal(1, round);
        put_string(1, ": sum=");
        put_hex(1, sum);
        put_string(1, " mixed=");
        put_hex(1, mixed);
        put_char(1, '\n');
    }
    return (int)(sum & 0x7F);
}
