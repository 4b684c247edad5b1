/* The little runtime every guest links: entry from start.S, and what -nostdlib leaves out. */
#include "linux.h"

void start_c(long *initial_sp) {
    int argc = (int)initial_sp[0];
    char **argv = (char **)(initial_sp + 1);
    char **envp = argv + argc + 1;
    char **p = envp;
    while (*p) p++;
    u32 *auxv = (u32 *)(p + 1);
    sys_exit_group(guest_main(argc, argv, envp, auxv));
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

int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y) return *x - *y;
    return 0;
}

size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

int strcmp(const char *a, const char *b) {
    while (*a && *a == *b) a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

void put_string(int fd, const char *s) { sys_write(fd, s, strlen(s)); }

void put_char(int fd, char c) { sys_write(fd, &c, 1); }

void put_decimal(int fd, long long value) {
    char buffer[24];
    char *p = buffer + sizeof buffer;
    unsigned long long magnitude = value < 0 ? 0ull - (unsigned long long)value : (unsigned long long)value;
    do {
        *--p = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude);
    if (value < 0) *--p = '-';
    sys_write(fd, p, (unsigned long)(buffer + sizeof buffer - p));
}

void put_hex(int fd, u32 value) {
    char buffer[10] = "0x";
    for (int i = 0; i < 8; i++) buffer[2 + i] = "0123456789abcdef"[(value >> (28 - 4 * i)) & 15];
    sys_write(fd, buffer, 10);
}

long long parse_decimal(const char *s) {
    int negative = *s == '-';
    if (negative) s++;
    long long value = 0;
    while (*s >= '0' && *s <= '9') value = value * 10 + (*s++ - '0');
    return negative ? -value : value;
}
