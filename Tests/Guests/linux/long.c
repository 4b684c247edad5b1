/* The long run: about 2.5 billion instructions of integer work (an xorshift generator feeding a
 * multiply-accumulate checksum), with one line of progress per 50 million iterations. Used to
 * show that runs of billions of instructions print exactly what qemu-riscv32 prints. */
#include "linux.h"

int guest_main(int argc, char **argv, char **envp, u32 *auxv) {
    (void)envp, (void)auxv;
    u32 rounds = argc > 1 ? (u32)parse_decimal(argv[1]) : 6;
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
