/* Echoes argv, counts environ, and checks the auxiliary vector the kernel built. */
#include "linux.h"

extern char _start[];

static u32 auxiliary(u32 *auxv, u32 type) {
    for (; auxv[0] != AT_NULL; auxv += 2)
        if (auxv[0] == type) return auxv[1];
    return 0;
}

int guest_main(int argc, char **argv, char **envp, u32 *auxv) {
    put_string(1, "argc=");
    put_decimal(1, argc);
    put_char(1, '\n');
    for (int i = 1; i < argc; i++) {  /* argv[0] is the path the caller chose: not compared */
        put_string(1, "argv[");
        put_decimal(1, i);
        put_string(1, "]=\"");
        put_string(1, argv[i]);
        put_string(1, "\"\n");
    }
    put_string(1, argv[argc] == 0 ? "argv[argc] is NULL\n" : "argv[argc] is not NULL\n");
    int environment_count = 0;
    for (char **e = envp; *e; e++) environment_count++;
    put_string(1, "environ count=");
    put_decimal(1, environment_count);
    put_char(1, '\n');
    for (char **e = envp; *e; e++)
        if (memcmp(*e, "GUEST_", 6) == 0) {
            put_string(1, *e);
            put_char(1, '\n');
        }
    put_string(1, "AT_PAGESZ=");
    put_decimal(1, auxiliary(auxv, AT_PAGESZ));
    put_string(1, "\nAT_ENTRY is _start: ");
    put_string(1, auxiliary(auxv, AT_ENTRY) == (u32)_start ? "yes" : "no");
    /* AT_PHDR points at the program headers in the first loaded page: the ELF header's e_phoff
     * says how far past the start of the file they are. */
    u32 phdr = auxiliary(auxv, AT_PHDR);
    put_string(1, "\nAT_PHENT=");
    put_decimal(1, auxiliary(auxv, AT_PHENT));
    put_string(1, "\nAT_PHNUM=");
    put_decimal(1, auxiliary(auxv, AT_PHNUM));
    put_string(1, "\nfirst program header type=");
    put_decimal(1, phdr ? (long long)*(u32 *)phdr : -1);
    u32 random = auxiliary(auxv, AT_RANDOM);
    put_string(1, "\nAT_RANDOM present: ");
    put_string(1, random ? "yes" : "no");
    put_string(1, "\nstack aligned to 16: ");
    put_string(1, ((u32)argv - 4) % 16 == 0 ? "yes" : "no");
    put_char(1, '\n');
    return argc;
}
