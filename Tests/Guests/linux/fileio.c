/* File I/O on host files: argv[1] is read (fstat, read, _llseek), argv[2] is created, written,
 * read back and appended to. Also the errors: a missing file, a bad descriptor. */
#include "linux.h"

static u32 crc32(const unsigned char *p, long n, u32 crc) {
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
    }
    return ~crc;
}

static void report(const char *label, long long value) {
    put_string(1, label);
    put_char(1, '=');
    put_decimal(1, value);
    put_char(1, '\n');
}

static char buffer[4096];

int guest_main(int argc, char **argv, char **envp, u32 *auxv) {
    (void)envp, (void)auxv;
    if (argc < 3) {
        put_string(2, "usage: fileio INPUT OUTPUT\n");
        return 2;
    }
    int in = (int)sys_openat(AT_FDCWD, argv[1], O_RDONLY, 0);
    report("open input", in);
    if (in < 0) return 1;
    struct stat64 st;
    report("fstat", sys_fstat64(in, &st));
    report("size", st.size);
    report("is regular file", (st.mode & 0170000) == 0100000);

    u32 crc = 0;
    long long total = 0;
    for (;;) {
        long n = sys_read(in, buffer, 1000);
        if (n <= 0) break;
        crc = crc32((unsigned char *)buffer, n, crc);
        total += n;
    }
    report("bytes read", total);
    put_string(1, "crc32=");
    put_hex(1, crc);
    put_char(1, '\n');

    long long position = -1;
    report("llseek set", sys_llseek(in, 10, &position, SEEK_SET));
    report("position", position);
    long n = sys_read(in, buffer, 16);
    report("read after seek", n);
    sys_write(1, buffer, n > 0 ? (unsigned long)n : 0);
    put_char(1, '\n');
    report("llseek cur", sys_llseek(in, -6, &position, SEEK_CUR));
    report("position", position);
    report("llseek end", sys_llseek(in, -5, &position, SEEK_END));
    report("position", position);
    report("llseek bad whence", sys_llseek(in, 0, &position, 9));
    report("llseek before start", sys_llseek(in, -1, &position, SEEK_SET));
    report("close input", sys_close(in));
    report("close again", sys_close(in));
    report("read closed", sys_read(in, buffer, 1));

    int out = (int)sys_openat(AT_FDCWD, argv[2], O_RDWR | O_CREAT | O_TRUNC, 0644);
    report("create output", out >= 3);
    static const char text[] = "line one\nline two\n";
    report("write", sys_write(out, text, sizeof text - 1));
    report("llseek to 5", sys_llseek(out, 5, &position, SEEK_SET));
    n = sys_read(out, buffer, 100);
    report("read back", n);
    sys_write(1, buffer, n > 0 ? (unsigned long)n : 0);
    report("fstat output", sys_fstat64(out, &st));
    report("output size", st.size);
    report("close output", sys_close(out));
    out = (int)sys_openat(AT_FDCWD, argv[2], O_WRONLY | O_APPEND, 0);
    report("append", sys_write(out, "line three\n", 11));
    sys_close(out);

    report("open missing", sys_openat(AT_FDCWD, "/nonexistent/vlab-guest-file", O_RDONLY, 0));
    report("write to bad fd", sys_write(57, "x", 1));
    report("fstat bad fd", sys_fstat64(-1, &st));
    report("read into unmapped memory", sys_read(0, (void *)16, 1));
    return 0;
}
