/* A filter: stdin to stdout in upper case, with byte and line counts on stderr. */
#include "linux.h"

int guest_main(int argc, char **argv, char **envp, u32 *auxv) {
    (void)argc, (void)argv, (void)envp, (void)auxv;
    static char buffer[300];  /* small, so a long input takes many reads */
    long total = 0, lines = 0;
    for (;;) {
        long n = sys_read(0, buffer, sizeof buffer);
        if (n < 0) {
            put_string(2, "read failed: ");
            put_decimal(2, n);
            put_char(2, '\n');
            return 1;
        }
        if (n == 0) break;
        for (long i = 0; i < n; i++) {
            if (buffer[i] >= 'a' && buffer[i] <= 'z') buffer[i] -= 'a' - 'A';
            if (buffer[i] == '\n') lines++;
        }
        for (long done = 0; done < n;) {
            long w = sys_write(1, buffer + done, n - done);
            if (w <= 0) return 2;
            done += w;
        }
        total += n;
    }
    put_string(2, "bytes=");
    put_decimal(2, total);
    put_string(2, " lines=");
    put_decimal(2, lines);
    put_char(2, '\n');
    return 0;
}
