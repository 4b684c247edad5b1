/* A tiny malloc over brk, and the brk rules programs rely on: brk(0) reports the break, growing
 * returns the new break, an impossible request returns the old one, and memory given back and
 * taken again reads as zero. */
#include "linux.h"

extern char _end[];  /* the linker's end of .bss */

static char *heap_break;

static void *allocate(unsigned long size) {
    size = (size + 7) & ~7ul;
    char *block = heap_break;
    char *wanted = block + size;
    char *got = (char *)sys_brk(wanted);
    if (got != wanted) return 0;
    heap_break = got;
    return block;
}

struct node { struct node *next; u32 value; u32 payload[5]; };

static void say(const char *what, int yes) {
    put_string(1, what);
    put_string(1, yes ? ": yes\n" : ": no\n");
}

int guest_main(int argc, char **argv, char **envp, u32 *auxv) {
    (void)argc, (void)argv, (void)envp, (void)auxv;
    char *initial = (char *)sys_brk(0);
    heap_break = initial;
    say("initial break is page aligned", ((u32)initial & 4095) == 0);
    say("initial break is past .bss", initial >= _end);

    /* A linked list of 20000 nodes (about 600 KiB): many heap pages, touched in order. */
    struct node *head = 0;
    for (u32 i = 0; i < 20000; i++) {
        struct node *n = allocate(sizeof *n);
        if (!n) {
            put_string(1, "allocation failed\n");
            return 1;
        }
        n->value = i * 2654435761u;
        for (int k = 0; k < 5; k++) n->payload[k] = n->value ^ (u32)k;
        n->next = head;
        head = n;
    }
    u32 sum = 0, count = 0;
    for (struct node *n = head; n; n = n->next) {
        sum = sum * 31 + n->value + n->payload[4];
        count++;
    }
    put_string(1, "list nodes=");
    put_decimal(1, count);
    put_string(1, " checksum=");
    put_hex(1, sum);
    put_char(1, '\n');
    say("heap used more than 500 KiB", heap_break - initial > 500 * 1024);

    char *before = (char *)sys_brk(0);
    char *refused = (char *)sys_brk((void *)0xF0000000);
    say("an impossible break is refused (old break returned)", refused == before);
    say("a break below the start is refused", (char *)sys_brk(initial - 4096) == before);

    /* Round the break up to a page, dirty the last 20000 bytes, give back 3 whole pages and take
     * them again: they read as zero. (Within a page Linux keeps old bytes, so only whole pages
     * given back are promised to come back zeroed.) */
    char *top = (char *)(((u32)before + 4095) & ~4095u);
    say("rounding the break up to a page works", (char *)sys_brk(top) == top);
    memset(top - 20000, 0xAB, 20000);
    char *lowered = (char *)sys_brk(top - 12288);
    say("shrinking returns the new break", lowered == top - 12288);
    char *raised = (char *)sys_brk(top);
    say("growing again returns the new break", raised == top);
    int zero = 1;
    for (char *p = top - 12288; p < top; p++)
        if (*p) zero = 0;
    say("memory given back and taken again reads as zero", zero);
    say("memory kept is still there", (unsigned char)top[-12289] == 0xAB);
    return 0;
}
