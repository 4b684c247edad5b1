/* Memory-heavy: loads and stores over a 4 MiB array, far more than any cache of translated
 * blocks or a small TLB covers. Each round streams through a 256 KiB slice (a different slice
 * each round, so the whole array is walked every 16 rounds), makes 32768 read-modify-writes at
 * random places, and follows a chain of 16384 dependent loads (each address comes from the
 * value just loaded), as a linked structure would. The array starts as the zeroed bss, so
 * nothing is spent initializing it. */
#include "workload.h"

const char workload_name[] = "memory";
const u32 default_rounds = 245;

#define WORDS (1u << 20)            /* 4 MiB of u32 */
#define SLICE (WORDS / 16)          /* 256 KiB streamed per round */
static u32 table[WORDS];

u32 run_workload(u32 rounds) {
    u32 sum = 0, random = 12345, cursor = 0;
    for (u32 round = 0; round < rounds; round++) {
        u32 *slice = table + (round % 16) * SLICE;
        for (u32 i = 0; i < SLICE; i++) {
            u32 value = slice[i];
            sum += value;
            slice[i] = value + (sum >> 7) + i;
        }
        for (u32 i = 0; i < 32768; i++) {
            random = random * 1664525u + 1013904223u;
            u32 index = random >> 12;                 /* 20 bits: anywhere in the array */
            table[index] ^= random;
            sum += table[index ^ 0x5A5A5];
        }
        for (u32 i = 0; i < 16384; i++) {
            u32 value = table[cursor];
            cursor = (value ^ (cursor * 2654435761u)) >> 12;
            sum ^= value;
        }
    }
    return sum ^ cursor ^ table[sum >> 12];
}
