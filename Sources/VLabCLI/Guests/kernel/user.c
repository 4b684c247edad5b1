/* user.c: the user programs. They run in U-mode at 0x10000 in every process's address space
 * (kernel.ld links this file there), so they may call only each other and the kernel, through
 * ECALL. They keep no global variables: the code pages are shared by all processes, read-only,
 * and each process's only private memory is its stack. */

static long syscall(long number, long a0, long a1) {
    register long r_a0 asm("a0") = a0;
    register long r_a1 asm("a1") = a1;
    register long r_a7 asm("a7") = number;
    asm volatile("ecall" : "+r"(r_a0) : "r"(r_a1), "r"(r_a7) : "memory");
    return r_a0;
}

static long getpid(void) { return syscall(172, 0, 0); }
static void sleep(long ticks) { syscall(101, ticks, 0); }
static void exit(long code) { syscall(93, code, 0); for (;;) {} }

/* write() takes at most one line per call, so loop until everything is taken. */
static void write(const char *text, long length) {
    while (length > 0) {
        long taken = syscall(64, (long)text, length);
        if (taken <= 0) return;
        text += taken, length -= taken;
    }
}

/* A line is built on the stack from text and numbers, then written at once. */
struct line { char text[96]; int length; };
static void add(struct line *l, const char *s) { while (*s && l->length < 95) l->text[l->length++] = *s++; }
static void add_number(struct line *l, unsigned int n) {
    char digits[10]; int count = 0;
    do { digits[count++] = '0' + n % 10; n /= 10; } while (n);
    while (count && l->length < 95) l->text[l->length++] = digits[--count];
}
static void say(struct line *l) { l->text[l->length++] = '\n'; write(l->text, l->length); l->length = 0; }

static void hello(const char *what) {
    struct line l; l.length = 0;   /* not "= {0}": that would call memset, which we lack */
    add(&l, "pid "); add_number(&l, getpid()); add(&l, ": "); add(&l, what);
    say(&l);
}

/* Pure computation, never yielding: only the timer interrupt lets the others run meanwhile. */
void primes(void) {
    hello("counting primes by trial division");
    for (unsigned int limit = 1000; limit <= 5000; limit += 1000) {
        unsigned int count = 0;
        for (unsigned int n = 2; n < limit; n++) {
            unsigned int d = 2;
            while (d * d <= n && n % d) d++;
            if (d * d > n) count++;
        }
        struct line l; l.length = 0;   /* not "= {0}": that would call memset, which we lack */
        add(&l, "primes below "); add_number(&l, limit); add(&l, ": "); add_number(&l, count);
        say(&l);
    }
    exit(0);
}

/* Mostly asleep: the scheduler skips it until enough timer ticks have passed. */
void sleeper(void) {
    hello("sleeping between lines");
    for (unsigned int nap = 1; nap <= 4; nap++) {
        sleep(3);
        struct line l; l.length = 0;   /* not "= {0}": that would call memset, which we lack */
        add(&l, "woke from nap "); add_number(&l, nap); add(&l, " of 4");
        say(&l);
    }
    exit(4);
}

/* Computes, and yields (sleep(0)) after each result. */
void collatz(void) {
    hello("following Collatz sequences");
    static const unsigned int starts[] = { 27, 97, 871, 6171 };
    unsigned int longest = 0;
    for (int i = 0; i < 4; i++) {
        unsigned int n = starts[i], steps = 0;
        while (n != 1) { n = n % 2 ? 3 * n + 1 : n / 2; steps++; }
        if (steps > longest) longest = steps;
        struct line l; l.length = 0;   /* not "= {0}": that would call memset, which we lack */
        add(&l, "collatz("); add_number(&l, starts[i]); add(&l, ") reaches 1 in "); add_number(&l, steps); add(&l, " steps");
        say(&l);
        sleep(0);
    }
    exit(longest % 256);
}

/* Tries to read the kernel. Paging stops it: the kernel's pages lack PTE_U. */
void intruder(void) {
    hello("reading kernel memory at 0x80000000");
    volatile unsigned int *kernel = (volatile unsigned int *)0x80000000;
    unsigned int stolen = *kernel;
    struct line l; l.length = 0;   /* not "= {0}": that would call memset, which we lack */
    add(&l, "read "); add_number(&l, stolen); add(&l, " (this line must never appear)");
    say(&l);
    exit(0);
}
