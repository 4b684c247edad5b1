/* Integer work for the M extension and the pipeline of loads, stores and branches: a prime
 * sieve, CRC32, a matrix product, and division's edge cases (INT_MIN / -1, division by zero). */
#include "linux.h"

static unsigned char composite[200001];
static int a[40][40], b[40][40], c[40][40];
static unsigned char data[65536];

static void line(const char *label, long long value) {
    put_string(1, label);
    put_char(1, '=');
    put_decimal(1, value);
    put_char(1, '\n');
}

static void hex_line(const char *label, u32 value) {
    put_string(1, label);
    put_char(1, '=');
    put_hex(1, value);
    put_char(1, '\n');
}

/* Through volatile, so the compiler cannot fold these at compile time: the hardware must do them. */
static volatile int vi[6] = {-2147483647 - 1, -1, 0, 7, -7, 3};
static volatile u32 vu[3] = {0xFFFFFFFFu, 0, 10};

int guest_main(int argc, char **argv, char **envp, u32 *auxv) {
    (void)argc, (void)argv, (void)envp, (void)auxv;
    int primes = 0;
    u32 last = 0;
    for (u32 i = 2; i <= 200000; i++) {
        if (composite[i]) continue;
        primes++;
        last = i;
        for (u32 j = i * i; j <= 200000 && j >= i; j += i) composite[j] = 1;
    }
    line("primes below 200000", primes);
    line("largest", last);

    u32 seed = 12345;
    for (u32 i = 0; i < sizeof data; i++) {
        seed = seed * 1103515245u + 12345u;
        data[i] = (unsigned char)(seed >> 16);
    }
    u32 crc = 0xFFFFFFFFu;
    for (u32 i = 0; i < sizeof data; i++) {
        crc ^= data[i];
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
    }
    hex_line("crc32", ~crc);

    for (int i = 0; i < 40; i++)
        for (int j = 0; j < 40; j++) {
            a[i][j] = (i * 37 + j * 11) % 101 - 50;
            b[i][j] = (i * 13 - j * 7) % 67;
        }
    for (int i = 0; i < 40; i++)
        for (int j = 0; j < 40; j++) {
            int s = 0;
            for (int k = 0; k < 40; k++) s += a[i][k] * b[k][j];
            c[i][j] = s;
        }
    int trace = 0;
    u32 mix = 0;
    for (int i = 0; i < 40; i++) {
        trace += c[i][i];
        for (int j = 0; j < 40; j++) mix = mix * 33 + (u32)c[i][j] / 3 + (u32)(c[i][j] % 7);
    }
    line("matrix trace", trace);
    hex_line("matrix mix", mix);

    long long wide = (long long)vi[0] * vi[4];
    line("mulh INT_MIN*-7", wide);
    hex_line("mulhu", (u32)(((u64)vu[0] * vu[0]) >> 32));
    line("INT_MIN / -1", vi[0] / vi[1]);
    line("INT_MIN % -1", vi[0] % vi[1]);
    line("7 / 0", vi[3] / vi[2]);
    line("7 % 0", vi[3] % vi[2]);
    hex_line("0xFFFFFFFF / 0 (unsigned)", vu[0] / vu[1]);
    line("10 % 0 (unsigned)", vu[2] % vu[1]);
    line("-7 / 3", vi[4] / vi[5]);
    line("-7 % 3", vi[4] % vi[5]);
    hex_line("shift by register 33 (uses 1)", vu[2] << (vi[3] * 5 - 2));
    return 0;
}
