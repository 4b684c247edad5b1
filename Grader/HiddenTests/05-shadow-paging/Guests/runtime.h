/* runtime.h: the little kernel the Lab 05 hidden-test guests share. Each guest (one .c file) is
 * an S-mode kernel_main that builds Sv32 address spaces, runs user code in them through upcalls
 * (enter_user: a user function runs in U-mode until it makes the DONE system call or faults) and
 * prints what it sees. Under a correct VMM every byte it prints is the bare machine's.
 *
 * Memory: guest RAM is 0x80000000..0x807FFFFF (8 MiB). The kernel is mapped in every address
 * space by global megapages at its own address (0x80000000, 0x80400000) and reaches every frame,
 * page tables included, through them; the UART by a global megapage at 0x10000000. User space:
 * the user code (user.c) at 0x10000, the user stack page below 0x400000, data from 0x400000. */
#ifndef RUNTIME_H
#define RUNTIME_H

typedef unsigned int u32;

#define PTE_V 0x001u
#define PTE_R 0x002u
#define PTE_W 0x004u
#define PTE_X 0x008u
#define PTE_U 0x010u
#define PTE_G 0x020u
#define PTE_A 0x040u
#define PTE_D 0x080u
#define SATP_SV32 0x80000000u
#define PAGE 4096u
#define MEGAPAGE 0x400000u

#define USER_CODE 0x10000u
#define USER_STACK_TOP 0x400000u
#define USER_DATA 0x400000u

/* Exception causes (privileged spec, table 3.6). */
#define CAUSE_FETCH_ACCESS 1u
#define CAUSE_LOAD_ACCESS 5u
#define CAUSE_STORE_ACCESS 7u
#define CAUSE_USER_ECALL 8u
#define CAUSE_FETCH_PAGE_FAULT 12u
#define CAUSE_LOAD_PAGE_FAULT 13u
#define CAUSE_STORE_PAGE_FAULT 15u

#define SSTATUS_SUM (1u << 18)
#define SSTATUS_MXR (1u << 19)

/* The user programs (user.c), at their user addresses. */
#define SYS_PUTC 1
#define SYS_DONE 2
u32 user_load(u32 address);
u32 user_store(u32 address, u32 value);
u32 user_call(u32 address);
u32 user_worker(u32 id, u32 round);
u32 user_sweep(u32 first, u32 pages);
u32 user_write_sweep(u32 first, u32 pages);

/* A user upcall's result when the access faulted and user_fault did not resolve it. */
#define FAULTED(cause) (0xFA000000u | (cause))

struct frame { u32 x[32]; u32 sepc; };

/* boot.S */
u32 enter_user(u32 entry, u32 arg0, u32 arg1, u32 user_sp);
u32 probe_load(u32 address);
void probe_store(u32 address, u32 value);
u32 probe_fetch(u32 address);
extern u32 probe_cause;
void shutdown(u32 status) __attribute__((noreturn));

/* runtime.c */
void putc(char c);
void puts(const char *s);
void puthex(u32 value);
void putdec(u32 value);
void check(int condition, const char *what);   /* prints "FAIL what" and counts it */
extern u32 failures;

u32 *alloc_frame(void);                 /* zeroed */
void free_frame(void *frame);
void fill_frame(u32 *frame, u32 pattern);
u32 *new_space(void);                   /* a root table with the kernel's global megapages */
u32 *pte_of(u32 *root, u32 va, int create);  /* the level-0 PTE for va (a 4 KiB mapping) */
void map(u32 *root, u32 va, void *frame, u32 flags);   /* V and A always; D if W */
u32 satp_of(u32 *root, u32 asid);
void switch_to(u32 *root, u32 asid, int fence);
void add_user_code(u32 *root);          /* the user code pages and a fresh stack page */
u32 run_user(u32 function, u32 arg0, u32 arg1);

static inline void sfence_all(void) { asm volatile("sfence.vma zero, zero" ::: "memory"); }
static inline void sfence_page(u32 va) { asm volatile("sfence.vma %0, zero" :: "r"(va) : "memory"); }
static inline void sfence_asid(u32 asid) { asm volatile("sfence.vma zero, %0" :: "r"(asid) : "memory"); }
static inline void sfence_page_asid(u32 va, u32 asid) { asm volatile("sfence.vma %0, %1" :: "r"(va), "r"(asid) : "memory"); }
static inline void set_sstatus(u32 bits) { asm volatile("csrs sstatus, %0" :: "r"(bits)); }
static inline void clear_sstatus(u32 bits) { asm volatile("csrc sstatus, %0" :: "r"(bits)); }

/* A user access that faulted: the guest decides (return 1 after fixing it: the access is retried;
 * 0: the upcall ends with FAULTED(cause)). */
int user_fault(u32 cause, u32 address, struct frame *frame);

#endif
