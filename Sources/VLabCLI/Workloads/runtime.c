/* The little runtime every workload links: parse the round count, run, print the checksum. */
#include "workload.h"

static size_t length(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

static void put(int fd, const char *s) { sys_write(fd, s, length(s)); }

static void put_decimal(int fd, u32 value) {
    char buffer[12];
    char *p = buffer + sizeof buffer;
    do {
        *--p = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    sys_write(fd, p, (unsigned long)(buffer + sizeof buffer - p));
}

static void put_hex(int fd, u32 value) {
    char buffer[10] = "0x";
    for (int i = 0; i < 8; i++) buffer[2 + i] = "0123456789abcdef"[(value >> (28 - 4 * i)) & 15];
    sys_write(fd, buffer, 10);
}

/* A positive decimal that fits in 31 bits, or 0 for anything else. */
static u32 parse_rounds(const char *s) {
    u32 value = 0;
    if (!*s) return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || value > 100000000u) return 0;
        value = value * 10 + (u32)(*s - '0');
    }
    return value <= 1000000000u ? value : 0;
}

void start_c(long *initial_sp) {
    int argc = (int)initial_sp[0];
    char **argv = (char **)(initial_sp + 1);
    u32 rounds = default_rounds;
    if (argc > 2 || (argc == 2 && (rounds = parse_rounds(argv[1])) == 0)) {
        put(2, "usage: ");
        put(2, workload_name);
        put(2, " [ROUNDS]   (ROUNDS: a positive decimal, at most 1000000000)\n");
        sys_exit_group(2);
    }
    u32 checksum = run_workload(rounds);
    put(1, workload_name);
    put(1, " rounds=");
    put_decimal(1, rounds);
    put(1, " checksum=");
    put_hex(1, checksum);
    put(1, "\n");
    sys_exit_group(0);
}

void *memset(void *d, int c, size_t n) {
    unsigned char *q = d;
    while (n--) *q++ = (unsigned char)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n) {
    unsigned char *q = d;
    const unsigned char *r = s;
    while (n--) *q++ = *r++;
    return d;
}
