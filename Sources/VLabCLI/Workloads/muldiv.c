/* Multiply and divide: every instruction of the M extension, in proportion. Each step takes
 * the low and both kinds of high product (mul, mulh, mulhu, mulhsu), an unsigned and a signed
 * quotient and remainder (divu, remu, div, rem) with divisors that are never zero, a step of
 * modular exponentiation, and a step of Euclid's algorithm. */
#include "workload.h"

const char workload_name[] = "muldiv";
const u32 default_rounds = 3660;

static inline u32 mulh(i32 a, i32 b) { return (u32)(((i64)a * (i64)b) >> 32); }
static inline u32 mulhu(u32 a, u32 b) { return (u32)(((u64)a * (u64)b) >> 32); }
static inline u32 mulhsu(i32 a, u32 b) { return (u32)(((i64)a * (i64)(u64)b) >> 32); }

u32 run_workload(u32 rounds) {
    u32 a = 0x12345678u, b = 0x9ABCDEF1u, power = 3, gcd_x = 1071, gcd_y = 462, checksum = 0;
    const u32 modulus = 65521;      /* the largest prime below 2^16: products fit in 32 bits */
    for (u32 round = 0; round < rounds; round++) {
        for (u32 i = 0; i < 2048; i++) {
            a = a * 2654435761u + i;
            b = b * 0x01000193u ^ a;
            u32 high = mulhu(a, b) ^ mulh((i32)a, (i32)b) ^ mulhsu((i32)b, a);
            u32 divisor = (b >> 7) | 1;
            u32 quotient = a / divisor, remainder = a % divisor;
            i32 signed_divisor = (i32)(b >> 9) - (1 << 21);
            if (signed_divisor == 0) signed_divisor = 7;
            i32 signed_quotient = (i32)a / signed_divisor, signed_remainder = (i32)a % signed_divisor;
            power = power * (power % modulus + 2) % modulus;
            /* Euclid: restart with fresh numbers once it reaches gcd. */
            if (gcd_y == 0) {
                gcd_x = (a >> 4) | 1;
                gcd_y = (b >> 6) | 1;
            } else {
                u32 t = gcd_x % gcd_y;
                gcd_x = gcd_y;
                gcd_y = t;
            }
            checksum += high ^ quotient ^ remainder ^ (u32)signed_quotient ^ (u32)signed_remainder ^ power ^ gcd_x;
            checksum = checksum * 3;
        }
    }
    return checksum;
}
