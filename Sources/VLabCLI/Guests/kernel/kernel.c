/* kernel.c: the S-mode kernel. Sv32 paging, processes in U-mode, a timer-driven round-robin
 * scheduler, four system calls and a console that keeps the output deterministic.
 *
 * One source, three builds (build.sh), which print the same bytes where they run correctly:
 * - kernel.elf: the native kernel, privileged instructions and all.
 * - kernel-pv.elf (KERNEL_PARAVIRTUAL): the para-virtual kernel. It executes no privileged
 *   instruction; every privileged operation is a hypercall (hypercall.h), batched so that it
 *   needs far fewer exits under a VMM. Look for the KERNEL_PARAVIRTUAL blocks. It also has a
 *   balloon driver and a split-driver block frontend (blkfront.c).
 * - kernel-bt.elf (KERNEL_POPIE): runs its boot phase with interrupts enabled and protects
 *   critical sections with vlab.popie, VirtLab's sensitive-but-unprivileged instruction
 *   (RISCV/TeachingExtension.swift). Deprivileged under plain trap-and-emulate the instruction
 *   silently does nothing, interrupts arrive inside the critical sections, and the kernel says
 *   so; binary translation fixes it. Look for the KERNEL_POPIE blocks.
 *
 * Determinism matters because the same image must print the same bytes on QEMU (whose timer
 * follows the wall clock) and on vlab (whose timer follows retired instructions): where the
 * timer interrupts land must never show in the output. So the console prints one complete line
 * from each process in turn (pid 1, 2, 3, 4, 1, ...), and the final report only counts events
 * the processes cause themselves. */
#include "sbi.h"
#ifdef KERNEL_PARAVIRTUAL
#include "hypercall.h"
#include "balloon.h"
#endif

typedef unsigned int u32;

/* ---------------------------------------------------------------- firmware calls */

static long sbi_call(long function, long a0, long a1) {
    register long r_a0 asm("a0") = a0;
    register long r_a1 asm("a1") = a1;
    register long r_a7 asm("a7") = function;
    asm volatile("ecall" : "+r"(r_a0) : "r"(r_a1), "r"(r_a7) : "memory");
    return r_a0;
}

#ifdef KERNEL_PARAVIRTUAL
/* A hypercall (hypercall.h): the firmware's calling convention, with a third argument. */
static long hypercall(long number, long a0, long a1, long a2) {
    register long r_a0 asm("a0") = a0;
    register long r_a1 asm("a1") = a1;
    register long r_a2 asm("a2") = a2;
    register long r_a7 asm("a7") = number;
    asm volatile("ecall" : "+r"(r_a0) : "r"(r_a1), "r"(r_a2), "r"(r_a7) : "memory");
    return r_a0;
}

/* One hypercall per line instead of one firmware call per character. */
static char console_line[128];
static u32 console_line_length;
static void putchar(char c) {
    console_line[console_line_length++] = c;
    if (c == '\n' || console_line_length == sizeof console_line) {
        hypercall(HC_CONSOLE_WRITE, (long)console_line, console_line_length, 0);
        console_line_length = 0;
    }
}
#else
static void putchar(char c) { sbi_call(SBI_PUTCHAR, c, 0); }
#endif
static void puts(const char *s) { while (*s) putchar(*s++); }

/* A printf with %s, %u, %d and %x, an optional width and '-' to pad on the right: enough for
 * the report. */
static void print(const char *format, ...) {
    __builtin_va_list args;
    __builtin_va_start(args, format);
    for (; *format; format++) {
        if (*format != '%') { putchar(*format); continue; }
        int width = 0, left = *++format == '-';
        if (!left) format--;
        while (*++format >= '0' && *format <= '9') width = width * 10 + *format - '0';
        char digits[12], *end = digits + sizeof digits, *p = end;
        const char *text = digits;
        if (*format == 's') {
            text = __builtin_va_arg(args, const char *);
            for (p = (char *)text; *p; p++) {}
            end = p, p = (char *)text;
        } else {
            u32 value = __builtin_va_arg(args, u32), base = *format == 'x' ? 16 : 10;
            int negative = *format == 'd' && (int)value < 0;
            if (negative) value = -value;
            do { *--p = "0123456789abcdef"[value % base]; value /= base; } while (value);
            if (negative) *--p = '-';
            text = p;
        }
        if (!left) for (int n = end - p; n < width; n++) putchar(' ');
        while (text < end) putchar(*text++);
        if (left) for (int n = end - p; n < width; n++) putchar(' ');
    }
    __builtin_va_end(args);
}

static void panic(const char *why) {
    print("kernel panic: %s\n", why);
    sbi_call(SBI_SHUTDOWN, 1, 0);
    for (;;) {}
}

/* ---------------------------------------------------------------- physical pages */

#define PAGE_SIZE 4096
#define RAM_MAPPED_END 0x80800000u   /* the kernel maps (and uses) the first 8 MiB of RAM */
extern char _end[];                   /* from kernel.ld: the first byte after the kernel */
static char *next_free_page = _end;

#ifdef KERNEL_PARAVIRTUAL
/* Pages the balloon driver got back from the VMM (below), linked through their first word. */
static u32 *returned_pages;
#endif

/* Pages are never freed: processes live until the machine stops, so a bump allocator is enough
 * (the para-virtual build reuses the pages its balloon got back first). */
static void *allocate_page(void) {
    char *page;
#ifdef KERNEL_PARAVIRTUAL
    if (returned_pages) {
        page = (char *)returned_pages;
        returned_pages = (u32 *)*returned_pages;
    } else
#endif
    {
        if ((u32)next_free_page >= RAM_MAPPED_END) panic("out of memory");
        page = next_free_page;
        next_free_page += PAGE_SIZE;
    }
    for (int i = 0; i < PAGE_SIZE; i++) page[i] = 0;
    return page;
}

#ifdef KERNEL_PARAVIRTUAL
/* ---------------------------------------------------------------- the balloon driver */

/* The VMM writes the target (frames the balloon should hold) into balloon_target whenever it
 * changes; the driver looks at it on every timer tick, which costs no exit. To inflate, it takes
 * pages from the kernel's own allocator, which it never uses again, and gives their frames back;
 * the guest loses nothing it needs, and the VMM can give the frames to someone else. To deflate,
 * it asks for frames back and returns the pages to the allocator. The bare firmware does not
 * serve BALLOON_REGISTER, so there the driver stays off. */
#define BALLOON_MAX 2048
static volatile u32 balloon_target;
static u32 balloon_ram_end;              /* 0: no balloon; else the end of the RAM the VMM gave us */
static u32 balloon_pages[BALLOON_MAX];   /* the pages given back, most recent last */
static u32 balloon_size;

static void balloon_init(void) {
    long frames = hypercall(BALLOON_REGISTER, (long)&balloon_target, 0, 0);
    if (frames > 0) balloon_ram_end = 0x80000000u + (u32)frames * PAGE_SIZE;
}

/* A page the kernel can spare: one returned earlier, or the next never-used one (if RAM has it;
 * the kernel maps 8 MiB but a domain may have less). Not zeroed: its frame is given away. */
static u32 balloon_spare_page(void) {
    if (returned_pages) {
        u32 page = (u32)returned_pages;
        returned_pages = (u32 *)*returned_pages;
        return page;
    }
    u32 page = (u32)next_free_page;
    if (page >= RAM_MAPPED_END || page >= balloon_ram_end) return 0;
    next_free_page += PAGE_SIZE;
    return page;
}

static void balloon_poll(void) {
    if (!balloon_ram_end) return;
    u32 target = balloon_target < BALLOON_MAX ? balloon_target : BALLOON_MAX;
    while (balloon_size < target) {
        u32 page = balloon_spare_page();
        if (!page) break;   /* nothing left to spare */
        if (hypercall(BALLOON_GIVE, page, 0, 0) != 0) {   /* refused: keep the page */
            *(u32 *)page = (u32)returned_pages;
            returned_pages = (u32 *)page;
            break;
        }
        balloon_pages[balloon_size++] = page;
    }
    while (balloon_size > target) {
        u32 page = balloon_pages[balloon_size - 1];
        if (hypercall(BALLOON_TAKE, page, 0, 0) != 0) break;   /* no frame free now: next tick */
        balloon_size--;
        *(u32 *)page = (u32)returned_pages;
        returned_pages = (u32 *)page;
    }
}

/* ---------------------------------------------------------------- the block frontend */

#include "blkfront.c"   /* the split driver's guest half: probes for a disk at boot */
#endif

/* ---------------------------------------------------------------- Sv32 paging */

/* Page-table entry bits (privileged spec 4.3.1). A and D are set up front, because the spec
 * lets hardware either set them or fault, and we want the same behaviour everywhere. */
#define PTE_V 0x01
#define PTE_R 0x02
#define PTE_W 0x04
#define PTE_X 0x08
#define PTE_U 0x10
#define PTE_A 0x40
#define PTE_D 0x80
#define SATP_SV32 0x80000000u

/* Each process sees the same layout: its program at 0x10000 (linked there, see kernel.ld),
 * its own stack page just below 4 MiB, and the kernel's identity mapping above 0x80000000,
 * which U-mode cannot touch because those entries lack PTE_U. */
#define USER_CODE  0x00010000u
#define USER_STACK 0x003ff000u
extern char user_image_start[], user_image_end[];   /* physical location of the user programs */

static u32 make_pte(u32 physical, u32 flags) { return (physical >> 12) << 10 | flags | PTE_V | PTE_A | PTE_D; }
static u32 pte_address(u32 pte) { return (pte >> 10) << 12; }

/* The kernel's own mapping: RAM as 4 MiB "megapages", leaves in the root table, identity
 * mapped so that the code keeps running at the same addresses when paging turns on. */
static void map_kernel(u32 *root) {
    for (u32 address = 0x80000000u; address < RAM_MAPPED_END; address += 0x400000)
        root[address >> 22] = make_pte(address, PTE_R | PTE_W | PTE_X);
}

/* Maps one 4 KiB page in the first 4 MiB, through the second-level table at root[0]. */
static void map_user_page(u32 *root, u32 virtual, u32 physical, u32 flags) {
    if (!(root[0] & PTE_V)) root[0] = (((u32)allocate_page() >> 12) << 10) | PTE_V;
    u32 *table = (u32 *)pte_address(root[0]);
    table[(virtual >> 12) & 0x3ff] = make_pte(physical, flags | PTE_U);
}

/* The physical address of a user byte, or 0 if the process may not read it: the kernel walks
 * the process's table itself rather than trusting a pointer the process handed it. */
static u32 user_physical(u32 *root, u32 virtual) {
    u32 pte = root[virtual >> 22];
    if ((pte & (PTE_V | PTE_R | PTE_W | PTE_X)) != PTE_V) return 0;   /* no table (or a kernel megapage) */
    pte = ((u32 *)pte_address(pte))[(virtual >> 12) & 0x3ff];
    if ((pte & (PTE_V | PTE_U | PTE_R)) != (PTE_V | PTE_U | PTE_R)) return 0;
    return pte_address(pte) | (virtual & 0xfff);
}

/* ---------------------------------------------------------------- processes */

enum state { UNUSED, RUNNABLE, SLEEPING, WAITING_FOR_CONSOLE, EXITED };

#define LINE_BUFFER 200
#define LINE_MAX 100

struct process {
    u32 registers[32];   /* x0..x31 as the process left them; boot.S relies on this being first */
    u32 pc;              /* ... and on this following at offset 128 */
    u32 satp;            /* Sv32 mode and the root page table's page number */
    u32 *root;
    int pid;
    const char *name;
    enum state state;
    u32 wake_at_tick;
    int exit_code;
    int killed;
    u32 syscalls, lines, bytes;
    char output[LINE_BUFFER];   /* console text not yet printed */
    u32 output_length;
};

#define NPROC 4
static struct process processes[NPROC];
static struct process *current;
static u32 ticks;   /* timer interrupts so far: drives sleep(), never printed (see the top) */

#ifdef KERNEL_PARAVIRTUAL
/* HC_RUN_USER does all of boot.S's return_to_user (satp, sfence.vma, sepc, sscratch, the
 * registers, sret) in one call. The next trap from the process enters kernel_trap with the
 * registers saved in p (struct process starts like struct user_context) and its cause here. */
static struct trap_info trap_info;
static void return_to_user(struct process *p, u32 satp) __attribute__((noreturn));
static void return_to_user(struct process *p, u32 satp) {
    hypercall(HC_RUN_USER, (long)p, satp, 0);
    panic("HC_RUN_USER refused the process");
    for (;;) {}
}
#else
extern void return_to_user(struct process *p, u32 satp) __attribute__((noreturn));
#endif

static void create_process(int pid, const char *name, void (*entry)(void)) {
    struct process *p = &processes[pid - 1];
    p->pid = pid;
    p->name = name;
    p->root = allocate_page();
    map_kernel(p->root);
    /* The programs' code is shared, read-only; the stack is private to the process. */
    for (u32 offset = 0; offset < (u32)(user_image_end - user_image_start); offset += PAGE_SIZE)
        map_user_page(p->root, USER_CODE + offset, (u32)user_image_start + offset, PTE_R | PTE_X);
    map_user_page(p->root, USER_STACK, (u32)allocate_page(), PTE_R | PTE_W);
    p->satp = SATP_SV32 | (u32)p->root >> 12;
    p->pc = (u32)entry;
    p->registers[2] = USER_STACK + PAGE_SIZE;   /* sp */
    p->state = RUNNABLE;
}

/* ---------------------------------------------------------------- the console */

/* One line from each process in turn: the process whose turn it is prints its next line (or,
 * if it has exited, is skipped), and everyone else's finished lines wait. The printed bytes
 * then depend only on what each process writes, never on when the scheduler ran it. */
static int console_turn;

static int find_newline(struct process *p) {
    for (u32 i = 0; i < p->output_length; i++) if (p->output[i] == '\n') return i;
    return -1;
}

static void append_output(struct process *p, const char *text) {
    while (*text && p->output_length < LINE_BUFFER) p->output[p->output_length++] = *text++;
}

static void console_flush(void) {
    for (;;) {
        int anyone_left = 0;
        for (int i = 0; i < NPROC; i++)
            if (processes[i].state != EXITED || processes[i].output_length) anyone_left = 1;
        if (!anyone_left) return;
        struct process *p = &processes[console_turn];
        int newline = find_newline(p);
        if (newline < 0 && p->state != EXITED) return;   /* its line is not finished: wait */
        if (newline >= 0 || p->output_length) {
            u32 length = newline >= 0 ? (u32)newline : p->output_length;
            print("[%u] ", p->pid);
            for (u32 i = 0; i < length; i++) putchar(p->output[i]);
            putchar('\n');
            u32 consumed = newline >= 0 ? length + 1 : length;
            for (u32 i = consumed; i < p->output_length; i++) p->output[i - consumed] = p->output[i];
            p->output_length -= consumed;
            p->lines++;
            if (p->state == WAITING_FOR_CONSOLE) p->state = RUNNABLE;
        }
        console_turn = (console_turn + 1) % NPROC;
    }
}

/* ---------------------------------------------------------------- system calls */

/* The ABI: number in a7, arguments in a0 and a1, result in a0 (numbers as in Linux where
 * Linux has the call). */
#define SYS_WRITE  64
#define SYS_EXIT   93
#define SYS_SLEEP  101
#define SYS_GETPID 172
#define RESTART    (-1000)   /* the process must wait: run the same ECALL again later */

/* write(buffer, length): takes bytes up to and including the first newline and returns how many
 * it took; the caller loops for the rest. A process with a finished line still waiting for its
 * turn on the console blocks first, so each process has at most one line in flight. */
static long sys_write(struct process *p, u32 buffer, u32 length) {
    if (find_newline(p) >= 0) { p->state = WAITING_FOR_CONSOLE; return RESTART; }
    u32 taken = 0;
    while (taken < length) {
        u32 physical = user_physical(p->root, buffer + taken);
        if (!physical) return -14;   /* EFAULT: not the process's memory */
        char c = *(char *)physical;
        taken++;
        if (p->output_length == LINE_MAX) p->output[p->output_length++] = '\n';   /* wrap long lines */
        p->output[p->output_length++] = c;
        p->bytes++;
        if (c == '\n') break;
    }
    console_flush();
    return taken;
}

static long system_call(struct process *p) {
    u32 *r = p->registers;
    switch (r[17]) {   /* a7 */
    case SYS_WRITE: return sys_write(p, r[10], r[11]);
    case SYS_GETPID: return p->pid;
    case SYS_SLEEP:   /* sleep(0) just gives up the rest of the time slice */
        if (r[10]) { p->wake_at_tick = ticks + r[10]; p->state = SLEEPING; }
        return 0;
    case SYS_EXIT:
        p->exit_code = r[10];
        p->state = EXITED;
        console_flush();
        return 0;
    default: return -38;   /* ENOSYS */
    }
}

/* ---------------------------------------------------------------- time and scheduling */

#define TICK_INTERVAL 20000   /* mtime units: 2 ms on QEMU (10 MHz), 20000 instructions on vlab */

#ifdef KERNEL_PARAVIRTUAL
static void set_next_tick(void) { hypercall(HC_SET_TIMER_IN, TICK_INTERVAL, 0, 0); }   /* clears the event */
#else
static u32 read_time(void) { return csr_read(time); }
static void set_next_tick(void) { sbi_call(SBI_SET_TIMER, read_time() + TICK_INTERVAL, 0); }   /* also clears STIP */
#endif

static void timer_tick(void) {
    ticks++;
    set_next_tick();
#ifdef KERNEL_PARAVIRTUAL
    balloon_poll();
#endif
    for (int i = 0; i < NPROC; i++)
        if (processes[i].state == SLEEPING && processes[i].wake_at_tick <= ticks) processes[i].state = RUNNABLE;
}

static void final_report(void) __attribute__((noreturn));

/* Round robin: the next runnable process after the current one. When nobody can run, the
 * kernel waits for the timer with WFI; interrupts stay disabled in S-mode (the kernel is never
 * preempted), so it looks at sip itself instead of taking the interrupt. */
static void schedule(void) __attribute__((noreturn));
static void schedule(void) {
    for (;;) {
        int start = current ? current - processes : NPROC - 1;
        for (int i = 1; i <= NPROC; i++) {
            struct process *p = &processes[(start + i) % NPROC];
            if (p->state == RUNNABLE) { current = p; return_to_user(p, p->satp); }
        }
        int all_exited = 1;
        for (int i = 0; i < NPROC; i++) if (processes[i].state != EXITED) all_exited = 0;
        if (all_exited) final_report();
#ifdef KERNEL_PARAVIRTUAL
        hypercall(HC_BLOCK, 0, 0, 0);   /* returns once the timer event is pending */
#else
        while (!(csr_read(sip) & IRQ_STIP)) asm volatile("wfi");
#endif
        timer_tick();
    }
}

/* ---------------------------------------------------------------- traps */

static const char *exception_name(u32 cause) {
    switch (cause) {
    case 2: return "illegal instruction";
    case 5: return "load access fault";
    case 7: return "store access fault";
    case 12: return "instruction page fault";
    case 13: return "load page fault";
    case 15: return "store page fault";
    default: return "exception";
    }
}

/* Every trap from U-mode ends up here (boot.S saved the registers into p). */
void kernel_trap(struct process *p) {
#ifdef KERNEL_PARAVIRTUAL
    u32 cause = trap_info.cause;
#else
    u32 cause = csr_read(scause);
#endif
    if (cause == (0x80000000u | 5)) {         /* supervisor timer: the time slice is over */
        timer_tick();
    } else if (cause == 8) {                  /* ECALL from U-mode */
        long result = system_call(p);
        if (result != RESTART) { p->registers[10] = result; p->pc += 4; p->syscalls++; }
    } else {                                  /* the process did something it may not: end it */
        char line[80], *q = line;
        const char *parts[] = { "killed: ", exception_name(cause), " at address 0x", 0 };
        for (int i = 0; parts[i]; i++) for (const char *s = parts[i]; *s; s++) *q++ = *s;
#ifdef KERNEL_PARAVIRTUAL
        u32 address = trap_info.value;
#else
        u32 address = csr_read(stval);
#endif
        for (int shift = 28; shift >= 0; shift -= 4) *q++ = "0123456789abcdef"[(address >> shift) & 15];
        *q++ = '\n', *q = 0;
        append_output(p, line);
        p->killed = 1;
        p->exit_code = -1;
        p->state = EXITED;
        console_flush();
    }
    schedule();
}

#ifndef KERNEL_PARAVIRTUAL   /* (the para-virtual kernel's own faults stop in the firmware or VMM) */
void kernel_fault(void) {
    print("kernel trap: scause 0x%x sepc 0x%x stval 0x%x\n", csr_read(scause), csr_read(sepc), csr_read(stval));
    panic("trap in the kernel");
}
#endif

#ifdef KERNEL_POPIE
/* ---------------------------------------------------------------- critical sections (kernel-bt.elf) */

/* This build takes timer interrupts in S-mode while it sets up the processes, and timer_tick()
 * walks the process table, so building a process is a critical section: interrupts off, then
 * back to what they were. Like x86's "pushf; cli ... popf", it saves sstatus and restores SIE
 * with vlab.popie, which reads the SIE bit of a status image (GNU as has no mnemonic for it:
 * custom-0, rd = 0, funct3 = 0, imm = 0). Deprivileged, vlab.popie does nothing and traps
 * nowhere, so interrupts stay on; kernel_interrupt() notices and prints a BUG line. */
#define SSTATUS_SIE (1u << 1)
static void popie(u32 status) { asm volatile(".insn i CUSTOM_0, 0, zero, %0, 0" :: "r"(status) : "memory"); }
static volatile int in_critical_section;   /* volatile: kernel_interrupt reads it between any two instructions */

static u32 critical_section_begin(void) {
    u32 saved = csr_read(sstatus);
    popie(saved & ~SSTATUS_SIE);
    in_critical_section = 1;
    return saved;
}

static void critical_section_end(u32 saved) {
    in_critical_section = 0;
    popie(saved);   /* a tick that came meanwhile is taken right here */
}

/* An interrupt (or a fault) taken in S-mode; boot.S saved the caller-saved registers and SRETs
 * after this returns. */
void kernel_interrupt(void) {
    u32 cause = csr_read(scause);
    if (cause != (0x80000000u | 5)) kernel_fault();   /* an exception in the kernel: a bug */
    if (in_critical_section)
        print("kernel: BUG: timer interrupt inside a critical section at 0x%x (interrupts were not disabled)\n", csr_read(sepc));
    timer_tick();
}
#endif

/* ---------------------------------------------------------------- start and finish */

extern void primes(void), sleeper(void), collatz(void), intruder(void);

static void final_report(void) {
    print("kernel: all processes have exited\n");
    print("  pid name      status   syscalls lines bytes\n");
    u32 total = 0;
    for (int i = 0; i < NPROC; i++) {
        struct process *p = &processes[i];
        print("  %3u %-9s ", p->pid, p->name);
        if (p->killed) print("killed  ");
        else print("exit %3d", p->exit_code);
        print(" %8u %5u %5u\n", p->syscalls, p->lines, p->bytes);
        total += p->syscalls;
    }
    print("kernel: %u system calls in all; shutting down\n", total);
    sbi_call(SBI_SHUTDOWN, 0, 0);
    for (;;) {}
}

void kernel_main(void) {
    puts("kernel: booted in S-mode\n");
    static u32 kernel_root[1024] __attribute__((aligned(PAGE_SIZE)));
    map_kernel(kernel_root);
#ifdef KERNEL_PARAVIRTUAL
    hypercall(HC_SET_PAGE_TABLE, SATP_SV32 | (u32)kernel_root >> 12, 0, 0);   /* satp + sfence.vma */
#else
    csr_write(satp, SATP_SV32 | (u32)kernel_root >> 12);
    asm volatile("sfence.vma");
#endif
    puts("kernel: Sv32 paging on\n");

#ifdef KERNEL_POPIE
    /* Interrupts on while the processes are built (the ticks only count: nobody sleeps yet). */
    set_next_tick();
    csr_set(sie, IRQ_STIP);
    csr_set(sstatus, SSTATUS_SIE);
    u32 saved = critical_section_begin(); create_process(1, "primes", primes); critical_section_end(saved);
    saved = critical_section_begin(); create_process(2, "sleeper", sleeper); critical_section_end(saved);
    saved = critical_section_begin(); create_process(3, "collatz", collatz); critical_section_end(saved);
    saved = critical_section_begin(); create_process(4, "intruder", intruder); critical_section_end(saved);
    csr_clear(sstatus, SSTATUS_SIE);   /* from here on as kernel.elf: never interrupted in S-mode */
#else
    create_process(1, "primes", primes);
    create_process(2, "sleeper", sleeper);
    create_process(3, "collatz", collatz);
    create_process(4, "intruder", intruder);
#endif
    print("kernel: %u processes, user programs at 0x%x, stacks at 0x%x\n", NPROC, USER_CODE, USER_STACK);

#ifdef KERNEL_PARAVIRTUAL
    /* Where traps from the processes go: kernel_trap, on the kernel stack, cause in trap_info. */
    extern char kernel_stack_top[];
    hypercall(HC_SET_TRAP_ENTRY, (long)kernel_trap, (long)kernel_stack_top, (long)&trap_info);
    balloon_init();
    blkfront_init();   /* prints one line if (and only if) the VMM gave this domain a disk */
    set_next_tick();
#else
    csr_clear(sstatus, 1u << 8);   /* SPP = 0: SRET enters U-mode */
    csr_set(sie, IRQ_STIP);        /* timer ticks interrupt U-mode (in S-mode we poll, see schedule) */
    set_next_tick();
#endif
    schedule();
}
