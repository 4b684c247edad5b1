/* memory.h: constants shared by the kernel and the user code of the memory workloads. */
#define PAGE_SIZE      4096u
#define USER_CODE_VA   0x10000u       /* user.c's page, in every process */
#define USER_STACK_TOP 0x400000u      /* one stack page below it */
#define USER_DATA_VA   0x40000000u    /* the data pages start here */

#define PT_PROCESSES   32u            /* page-table-heavy: address spaces */
#define PT_DATA_PAGES  8u             /* data pages per process */
#define PT_ROUNDS      24u            /* every process runs once per round */
#define PT_SPARE_FRAMES 64u           /* frames in the remapping pool */

#define HOT_PAGES      4u             /* TLB-friendly: the pages of the hot loop */
#define HOT_PASSES     48u

#define STRIDED_PAGES  8192u          /* TLB-hostile: 32 MiB of virtual pages (twice VirtLab's 4096-entry TLB) */
#define STRIDED_FRAMES 64u            /* backed by this many frames, each mapped many times */
#define STRIDED_PASSES 12u
