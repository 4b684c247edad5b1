/* Integer-heavy: the ALU and shifts, with few loads and stores. Each step advances three
 * pseudo-random generators (a linear congruential generator, xorshift32, a Weyl sequence),
 * folds a byte into a bitwise CRC-32 (eight shift/mask/xor steps, no table), hashes another
 * byte with FNV-1a and mixes the lot with rotations. */
#include "workload.h"

const char workload_name[] = "integer";
const u32 default_rounds = 870;

static inline u32 rotate_left(u32 x, u32 n) { return (x << (n & 31)) | (x >> ((32 - n) & 31)); }

u32 run_workload(u32 rounds) {
    u32 lcg = 1, xorshift = 2463534242u, weyl = 0, fnv = 2166136261u, crc = 0xFFFFFFFFu, mix = 0;
    for (u32 round = 0; round < rounds; round++) {
        for (u32 i = 0; i < 4096; i++) {
            lcg = lcg * 1664525u + 1013904223u;
            xorshift ^= xorshift << 13;
            xorshift ^= xorshift >> 17;
            xorshift ^= xorshift << 5;
            weyl += 0x9E3779B9u;
            u32 value = lcg ^ xorshift ^ weyl;
            crc ^= value & 0xFF;
            for (int bit = 0; bit < 8; bit++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
            fnv = (fnv ^ ((value >> 8) & 0xFF)) * 16777619u;
            mix = rotate_left(mix ^ value, value >> 27) + (fnv ^ (crc >> 3));
        }
    }
    return ~crc ^ fnv ^ mix ^ lcg;
}
