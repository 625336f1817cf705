//! AArch64 S-EL1 primitives: entry points, exception vectors, entering S-EL0 contexts, SMC to
//! EL3, and MMU activation. All the kernel's assembly lives in this file.

use super::{esr, Exit, FpRegs, UserRegs};
use core::arch::{asm, global_asm};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, Ordering};

/// Bytes of stack per core.
pub const STACK_SIZE: usize = 0x8_0000;
/// Cores the image has stacks for.
pub const MAX_CORES: usize = 8;

// Offsets into `PerCpu`, shared with the assembly below.
const PERCPU_USER_REGS: usize = 0;
const PERCPU_STACK_TOP: usize = 8;

/// Per-core data the exception path finds through TPIDR_EL1. Written by assembly, so the
/// fields are atomics: that keeps the static in writable memory and makes the sharing explicit.
#[repr(C)]
pub struct PerCpu {
    user_regs: AtomicU64,
    /// Top of this core's stack, where the fault vector restarts.
    stack_top: AtomicU64,
    /// 1 while the normal world's FP/SIMD registers are in `nw_fp` (an SP's were loaded
    /// since this core last returned to the normal world): restored before the next SMC.
    nw_fp_saved: AtomicU64,
    /// The normal world's FP/SIMD registers while an SP uses the registers.
    nw_fp: UnsafeCell<FpRegs>,
}

static_assertions::const_assert_eq!(core::mem::offset_of!(PerCpu, user_regs), PERCPU_USER_REGS);
static_assertions::const_assert_eq!(core::mem::offset_of!(PerCpu, stack_top), PERCPU_STACK_TOP);
static_assertions::const_assert_eq!(core::mem::offset_of!(UserRegs, sp), 248);
static_assertions::const_assert_eq!(core::mem::offset_of!(UserRegs, pc), 256);
static_assertions::const_assert_eq!(core::mem::offset_of!(UserRegs, spsr), 264);
static_assertions::const_assert_eq!(core::mem::offset_of!(UserRegs, tpidr), 272);
// spmc_fp_save/spmc_fp_load: q0-q31 from offset 0, FPCR and FPSR at 512, 16-byte aligned.
static_assertions::const_assert_eq!(core::mem::offset_of!(FpRegs, fpcr), 512);
static_assertions::const_assert_eq!(core::mem::offset_of!(FpRegs, fpsr), 520);
static_assertions::const_assert_eq!(core::mem::align_of::<FpRegs>(), 16);

// SAFETY: `memcpy`, `memset` and `memcmp`/`bcmp` below implement the C contract the compiler
// calls them under (`memcmp` reads only [a, a + n) and [b, b + n): 8-byte words only while both
// are 8-byte aligned and 8 or more bytes are left, then bytes; it returns 0 if equal, else a
// value with the sign of the first differing byte's difference as unsigned bytes). `memcpy`
// and `memset`:
// they write only [dst, dst + n), read only the aligned 8-byte words that hold bytes of
// [src, src + n) (such a word never crosses a page, so it is as mapped as the range), return
// dst in x0, use only x0-x9 (caller-saved) and no stack. Every access is aligned to its
// size: bytes until the destination is 8-byte aligned, then 16- or 8-byte accesses (a source
// of another alignment is read in aligned words and shifted), then bytes, because the image
// is built for strict alignment and before the MMU is on all memory is Device memory, where
// an unaligned access faults. They take
// precedence over compiler-builtins' weak definitions (whose `memcmp` compares a byte per
// five instructions: aarch64-paging compares a 64-byte bitmap with it at every table level
// of a `modify_range` walk), whose loop moves about 1 byte per
// instruction on this target: on the message path that was most of the SPMC's instructions
// (docs/performance.md).
global_asm!(
    r#"
.section .text.memcpy, "ax"
.global memcpy
.type memcpy, %function
memcpy:
    mov x3, x0
5:  tst x3, #7
    b.eq 6f
    cbz x2, 4f
    ldrb w4, [x1], #1
    strb w4, [x3], #1
    sub x2, x2, #1
    b 5b
6:  tst x1, #7
    b.ne 7f
    subs x2, x2, #16
    b.lo 2f
1:  ldp x4, x5, [x1], #16
    stp x4, x5, [x3], #16
    subs x2, x2, #16
    b.hs 1b
2:  adds x2, x2, #16
    tbz x2, #3, 3f
    ldr x4, [x1], #8
    str x4, [x3], #8
    sub x2, x2, #8
3:  cbz x2, 4f
    ldrb w4, [x1], #1
    strb w4, [x3], #1
    sub x2, x2, #1
    b 3b
4:  ret
    /* Destination aligned, source not: whole aligned source words, shifted together (the
       first and last words read hold bytes of the source range, so no read leaves the words
       the range touches). x5 = 8 * (src & 7), x6 = 64 - x5 (lslv/lsrv take it mod 64). */
7:  cmp x2, #8
    b.lo 3b
    and x5, x1, #7
    lsl x5, x5, #3
    neg x6, x5
    bic x7, x1, #7
    ldr x4, [x7], #8
8:  ldr x8, [x7], #8
    lsr x4, x4, x5
    lsl x9, x8, x6
    orr x4, x4, x9
    str x4, [x3], #8
    mov x4, x8
    add x1, x1, #8
    sub x2, x2, #8
    cmp x2, #8
    b.hs 8b
    b 3b
.size memcpy, . - memcpy

.section .text.memset, "ax"
.global memset
.type memset, %function
memset:
    mov x3, x0
    and x1, x1, #0xff
    orr x1, x1, x1, lsl #8
    orr x1, x1, x1, lsl #16
    orr x1, x1, x1, lsl #32
5:  tst x3, #7
    b.eq 6f
    cbz x2, 4f
    strb w1, [x3], #1
    sub x2, x2, #1
    b 5b
6:  subs x2, x2, #16
    b.lo 2f
1:  stp x1, x1, [x3], #16
    subs x2, x2, #16
    b.hs 1b
2:  adds x2, x2, #16
    tbz x2, #3, 3f
    str x1, [x3], #8
    sub x2, x2, #8
3:  cbz x2, 4f
    strb w1, [x3], #1
    sub x2, x2, #1
    b 3b
4:  ret
.size memset, . - memset

.section .text.memcmp, "ax"
.global memcmp
.type memcmp, %function
.global bcmp
.type bcmp, %function
memcmp:
bcmp:
    orr x3, x0, x1
    tst x3, #7
    b.ne 3f
1:  cmp x2, #8
    b.lo 3f
    ldr x4, [x0], #8
    ldr x5, [x1], #8
    sub x2, x2, #8
    cmp x4, x5
    b.eq 1b
    /* The first differing byte is the lowest one (little-endian): compare byte-reversed. */
    rev x4, x4
    rev x5, x5
    cmp x4, x5
    cset w0, hi
    csinv w0, w0, wzr, hs
    ret
3:  cbz x2, 4f
    ldrb w4, [x0], #1
    ldrb w5, [x1], #1
    sub x2, x2, #1
    subs w4, w4, w5
    b.eq 3b
    mov w0, w4
    ret
4:  mov w0, #0
    ret
.size memcmp, . - memcmp
.size bcmp, . - bcmp
"#
);

global_asm!(
    r#"
.section .text.entry, "ax"
.global _start
_start:
    msr daifset, #0xf
    /* The image is not position-independent (absolute addresses in its data and in the
       literal below): it must run where it is linked, which is where TF-A loads BL32 on this
       platform (platform-facts). Elsewhere nothing here may run but PC-relative code. */
    adr x9, _start
    ldr x10, =_start
    cmp x9, x10
    b.eq 10f
    /* Entered below the link address at the BL32_BASE of the TF-A releases the platform
       names (SPMC_ALT_ENTRY, 0 if none): move the loaded image (.text to the end of .data) up
       to the link address, copying from the top down because the two ranges overlap, then
       continue there. Only the SPMC's own link region is written (platform-facts checks it
       lies outside EL3's memory). With the MMU off the copy is not cached; the instruction
       cache is invalidated before the jump. */
    adrp x11, SPMC_ALT_ENTRY
    ldr x11, [x11, :lo12:SPMC_ALT_ENTRY]
    cbz x11, 7f
    cmp x9, x11
    b.ne 7f
    cmp x9, x10
    b.hs 7f
    adrp x12, __bss_start
    add x12, x12, :lo12:__bss_start
    sub x13, x12, x9
    add x14, x10, x13
11: ldr x15, [x12, #-8]!
    str x15, [x14, #-8]!
    cmp x12, x9
    b.hi 11b
    dsb sy
    ic iallu
    dsb sy
    isb
    br x10
10:
    /* A second entry at the cold entry point (no secondary EP registered yet) is warm. */
    adrp x9, {cold_done}
    ldr w10, [x9, :lo12:{cold_done}]
    cbnz w10, 2f
    /* Zero .bss first (the stacks are in their own NOLOAD section and are not touched):
       PERCPU lives there and is written just below. */
    adrp x9, __bss_start
    add x9, x9, :lo12:__bss_start
    adrp x10, __bss_end
    add x10, x10, :lo12:__bss_end
1:  cmp x9, x10
    b.hs 3f
    str xzr, [x9], #8
    b 1b
3:  adrp x9, {cold_done}
    mov w10, #1
    str w10, [x9, :lo12:{cold_done}]
    bl 9f
    bl {cold}
    b .
.global _secondary_start
_secondary_start:
    msr daifset, #0xf
2:  bl 9f
    mov x0, x4
    bl {warm}
    b .

/* Common core setup: stack for core x4, vectors, per-core pointer. Preserves x0-x4. */
9:  cmp x4, #{max_cores}
    b.hs 8f
    adrp x9, __stacks_start
    add x9, x9, :lo12:__stacks_start
    add x10, x4, #1
    mov x11, #{stack_size}
    madd x9, x10, x11, x9
    mov sp, x9
    adrp x9, {vectors}
    add x9, x9, :lo12:{vectors}
    msr vbar_el1, x9
    adrp x9, {percpu}
    add x9, x9, :lo12:{percpu}
    mov x11, #{percpu_size}
    madd x9, x4, x11, x9
    msr tpidr_el1, x9
    mov x10, sp
    str x10, [x9, #{percpu_stack_top}]
    /* FP/SIMD: trapped at EL0 (CPACR_EL1.FPEN = 0b01), so an SP's first FP/SIMD
       instruction of a run traps and run_user switches the registers to it (lazily); S-EL1
       (built soft-float) only touches them in spmc_fp_save/spmc_fp_load. */
    mov x9, #(1 << 20)
    msr cpacr_el1, x9
    /* EL0 may read CNTVCT_EL0 and CNTFRQ_EL0 (CNTKCTL_EL1.EL0VCTEN), as Linux grants its
       user space; the physical counter and the timers stay EL1-only. */
    mov x9, #(1 << 1)
    msr cntkctl_el1, x9
    isb
    ret

/* spmc_fp_save(FpRegs *x0) / spmc_fp_load(const FpRegs *x0): V0-V31, FPCR, FPSR. The layout
   is arch::FpRegs (16-byte aligned, q[32] then fpcr, fpsr). */
.arch_extension fp
.arch_extension simd
.global spmc_fp_save
spmc_fp_save:
    stp q0, q1, [x0, #0]
    stp q2, q3, [x0, #32]
    stp q4, q5, [x0, #64]
    stp q6, q7, [x0, #96]
    stp q8, q9, [x0, #128]
    stp q10, q11, [x0, #160]
    stp q12, q13, [x0, #192]
    stp q14, q15, [x0, #224]
    stp q16, q17, [x0, #256]
    stp q18, q19, [x0, #288]
    stp q20, q21, [x0, #320]
    stp q22, q23, [x0, #352]
    stp q24, q25, [x0, #384]
    stp q26, q27, [x0, #416]
    stp q28, q29, [x0, #448]
    stp q30, q31, [x0, #480]
    mrs x1, fpcr
    mrs x2, fpsr
    add x3, x0, #512
    stp x1, x2, [x3]
    ret
.global spmc_fp_load
spmc_fp_load:
    ldp q0, q1, [x0, #0]
    ldp q2, q3, [x0, #32]
    ldp q4, q5, [x0, #64]
    ldp q6, q7, [x0, #96]
    ldp q8, q9, [x0, #128]
    ldp q10, q11, [x0, #160]
    ldp q12, q13, [x0, #192]
    ldp q14, q15, [x0, #224]
    ldp q16, q17, [x0, #256]
    ldp q18, q19, [x0, #288]
    ldp q20, q21, [x0, #320]
    ldp q22, q23, [x0, #352]
    ldp q24, q25, [x0, #384]
    ldp q26, q27, [x0, #416]
    ldp q28, q29, [x0, #448]
    ldp q30, q31, [x0, #480]
    add x3, x0, #512
    ldp x1, x2, [x3]
    msr fpcr, x1
    msr fpsr, x2
    ret
8:  wfe
    b 8b

/* Entered at x9, linked at x10: prints both on the platform's console with PC-relative code
   only (no stack, no Rust), then tells EL3 that init failed: FFA_ERROR(INVALID_PARAMETERS),
   which TF-A's SPMD reports as "SPMC initialisation failed" before booting without the SPMC. */
7:  mov x19, x9
    mov x20, x10
    adrp x21, SPMC_EARLY_UART
    ldr x21, [x21, :lo12:SPMC_EARLY_UART]
    adr x0, 60f
    bl 50f
    mov x0, x20
    bl 55f
    adr x0, 61f
    bl 50f
    mov x0, x19
    bl 55f
    adr x0, 62f
    bl 50f
6:  movz x0, #0x0060
    movk x0, #0x8400, lsl #16
    mov x1, xzr
    mov w2, #0xfffffffe
    mov x3, xzr
    mov x4, xzr
    mov x5, xzr
    mov x6, xzr
    mov x7, xzr
    smc #0
    b 6b
/* Prints the NUL-terminated string at x0 on the PL011 at x21 (clobbers x0-x2). */
50: ldrb w1, [x0], #1
    cbz w1, 52f
51: ldr w2, [x21, #0x18]
    tbnz w2, #5, 51b
    str w1, [x21]
    b 50b
52: ret
/* Prints x0 as 0x + 16 hex digits on the PL011 at x21 (clobbers x0-x4). */
55: mov x3, x0
    mov x4, #64
    mov w1, #'0'
56: ldr w2, [x21, #0x18]
    tbnz w2, #5, 56b
    str w1, [x21]
    mov w1, #'x'
57: ldr w2, [x21, #0x18]
    tbnz w2, #5, 57b
    str w1, [x21]
58: sub x4, x4, #4
    lsr x1, x3, x4
    and x1, x1, #0xf
    cmp x1, #10
    add x2, x1, #'0'
    add x1, x1, #('a' - 10)
    csel x1, x2, x1, lo
59: ldr w2, [x21, #0x18]
    tbnz w2, #5, 59b
    str w1, [x21]
    cbnz x4, 58b
    ret
60: .asciz "[SPMC] fatal: image linked at "
61: .asciz " but entered at "
62: .asciz ": load BL32 at its link address (see docs/integrator-guide.md)\r\n"
    .balign 4
    .ltorg

/* S-EL1 exception vectors (VBAR_EL1), 2 KiB aligned, 0x80 bytes per entry. */
.section .text.vectors, "ax"
.balign 0x800
.global spmc_vectors
spmc_vectors:
.macro kernel_vector kind
    .balign 0x80
    /* An exception at S-EL1 is an SPMC bug, possibly a stack overflow into the guard page:
       the core never returns to what it was doing, so restart on its stack top. */
    mrs x4, tpidr_el1
    ldr x4, [x4, #{percpu_stack_top}]
    mov sp, x4
    mov x0, #\kind
    mrs x1, esr_el1
    mrs x2, elr_el1
    mrs x3, far_el1
    b {kernel_fault}
.endm
.macro user_vector kind
    .balign 0x80
    stp x0, x1, [sp, #-16]!
    mov x1, #\kind
    b spmc_user_exit
.endm
    kernel_vector 0
    kernel_vector 1
    kernel_vector 2
    kernel_vector 3
    kernel_vector 0
    kernel_vector 1
    kernel_vector 2
    kernel_vector 3
    user_vector 0
    user_vector 1
    user_vector 2
    user_vector 3
    user_vector 0
    user_vector 1
    user_vector 2
    user_vector 3

/* Saves the S-EL0 context into the UserRegs that spmc_run_user entered, then returns from
   spmc_run_user with the exit kind in x0. */
spmc_user_exit:
    mrs x0, tpidr_el1
    ldr x0, [x0, #{percpu_user_regs}]
    stp x2, x3, [x0, #16]
    stp x4, x5, [x0, #32]
    stp x6, x7, [x0, #48]
    stp x8, x9, [x0, #64]
    stp x10, x11, [x0, #80]
    stp x12, x13, [x0, #96]
    stp x14, x15, [x0, #112]
    stp x16, x17, [x0, #128]
    stp x18, x19, [x0, #144]
    stp x20, x21, [x0, #160]
    stp x22, x23, [x0, #176]
    stp x24, x25, [x0, #192]
    stp x26, x27, [x0, #208]
    stp x28, x29, [x0, #224]
    str x30, [x0, #240]
    mov x19, x1
    ldp x2, x3, [sp], #16
    stp x2, x3, [x0, #0]
    mrs x2, sp_el0
    str x2, [x0, #248]
    mrs x2, elr_el1
    str x2, [x0, #256]
    mrs x2, spsr_el1
    str x2, [x0, #264]
    mrs x2, tpidr_el0
    str x2, [x0, #272]
    mov x0, x19
    ldp x19, x20, [sp, #0]
    ldp x21, x22, [sp, #16]
    ldp x23, x24, [sp, #32]
    ldp x25, x26, [sp, #48]
    ldp x27, x28, [sp, #64]
    ldp x29, x30, [sp, #80]
    add sp, sp, #96
    ret

.section .text
/* u64 spmc_run_user(UserRegs *regs): runs the S-EL0 context until it traps back. */
.global spmc_run_user
spmc_run_user:
    sub sp, sp, #96
    stp x19, x20, [sp, #0]
    stp x21, x22, [sp, #16]
    stp x23, x24, [sp, #32]
    stp x25, x26, [sp, #48]
    stp x27, x28, [sp, #64]
    stp x29, x30, [sp, #80]
    mrs x9, tpidr_el1
    str x0, [x9, #{percpu_user_regs}]
    ldr x10, [x0, #248]
    msr sp_el0, x10
    ldr x10, [x0, #256]
    msr elr_el1, x10
    ldr x10, [x0, #264]
    msr spsr_el1, x10
    ldr x10, [x0, #272]
    msr tpidr_el0, x10
    ldp x2, x3, [x0, #16]
    ldp x4, x5, [x0, #32]
    ldp x6, x7, [x0, #48]
    ldp x8, x9, [x0, #64]
    ldp x10, x11, [x0, #80]
    ldp x12, x13, [x0, #96]
    ldp x14, x15, [x0, #112]
    ldp x16, x17, [x0, #128]
    ldp x18, x19, [x0, #144]
    ldp x20, x21, [x0, #160]
    ldp x22, x23, [x0, #176]
    ldp x24, x25, [x0, #192]
    ldp x26, x27, [x0, #208]
    ldp x28, x29, [x0, #224]
    ldr x30, [x0, #240]
    ldp x0, x1, [x0, #0]
    eret
"#,
    cold_done = sym COLD_BOOT_DONE,
    cold = sym spmc_cold_entry_trampoline,
    warm = sym spmc_warm_entry_trampoline,
    vectors = sym spmc_vectors_anchor,
    percpu = sym PERCPU,
    percpu_size = const core::mem::size_of::<PerCpu>(),
    percpu_user_regs = const PERCPU_USER_REGS,
    percpu_stack_top = const PERCPU_STACK_TOP,
    max_cores = const MAX_CORES,
    stack_size = const STACK_SIZE,
    kernel_fault = sym kernel_fault,
);

// The vector table is defined in the assembly above; this alias lets the entry code refer to
// it through `sym` without a second symbol definition.
unsafe extern "C" {
    #[link_name = "spmc_vectors"]
    static spmc_vectors_anchor: u8;
    fn spmc_run_user(regs: *mut UserRegs) -> u64;
    fn spmc_fp_save(dst: *mut FpRegs);
    fn spmc_fp_load(src: *const FpRegs);
    /// Provided by the platform crate: cold boot of the primary core.
    fn spmc_cold_entry(x0: u64, x1: u64, x2: u64, x3: u64, x4: u64) -> !;
    /// Provided by the platform crate: warm boot of a secondary core (x0 = linear ID).
    fn spmc_warm_entry(core: u64) -> !;
    /// Start of the secondary entry point, for FFA_SECONDARY_EP_REGISTER.
    fn _secondary_start();
}

/// Set by the first cold entry; a later entry at `_start` is treated as a warm boot. In .data,
/// not .bss: the loader writes .data again at every boot of the machine (qemu/monitor from the
/// flash, TF-A's BL2 from the FIP) but leaves RAM past the image as it was, so in .bss a value
/// of 1 from before a machine reset would send the new cold boot down the warm path, onto the
/// previous boot's heap and tables (qemu case `machine_reset_cold_boots_the_spmc`).
#[unsafe(no_mangle)]
#[unsafe(link_section = ".data")]
static COLD_BOOT_DONE: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

#[allow(
    dead_code,
    reason = "reached only from assembly, through the PERCPU symbol"
)]
struct PerCpuArray([PerCpu; MAX_CORES]);
// SAFETY: every core uses only its own entry (found through its own TPIDR_EL1, set once at
// entry from the core's linear ID); the atomics are Sync anyway, and `nw_fp` is only touched
// by `this_cpu()` callers on the owning core with exceptions masked (the SPMC runs with DAIF
// set at S-EL1), so no two accesses to one `nw_fp` ever overlap.
unsafe impl Sync for PerCpuArray {}
#[unsafe(no_mangle)]
static PERCPU: PerCpuArray = PerCpuArray(
    [const {
        PerCpu {
            user_regs: AtomicU64::new(0),
            stack_top: AtomicU64::new(0),
            nw_fp_saved: AtomicU64::new(0),
            nw_fp: UnsafeCell::new(FpRegs {
                q: [0; 32],
                fpcr: 0,
                fpsr: 0,
            }),
        }
    }; MAX_CORES],
);

/// Returns this core's `PerCpu` (TPIDR_EL1, set by the entry code before any Rust runs).
fn this_cpu() -> &'static PerCpu {
    let p: u64;
    // SAFETY: reading TPIDR_EL1 has no side effects.
    unsafe { asm!("mrs {0}, tpidr_el1", out(reg) p, options(nomem, nostack)) };
    // SAFETY: the entry code (label 9 in the assembly above) points TPIDR_EL1 at this core's
    // entry of PERCPU before calling any Rust code, and nothing changes it afterwards; PERCPU
    // is a static, so the reference is valid for 'static.
    unsafe { &*(p as *const PerCpu) }
}

unsafe extern "C" fn spmc_cold_entry_trampoline(x0: u64, x1: u64, x2: u64, x3: u64, x4: u64) -> ! {
    // SAFETY: called once from `_start` on a core with a valid stack; the platform crate
    // defines this symbol with this signature.
    unsafe { spmc_cold_entry(x0, x1, x2, x3, x4) }
}

unsafe extern "C" fn spmc_warm_entry_trampoline(core: u64) -> ! {
    // SAFETY: called from the secondary entry with a valid per-core stack.
    unsafe { spmc_warm_entry(core) }
}

/// Who reports an exception taken from S-EL1 (kind, ESR, ELR, FAR): the console, handed in at
/// boot (`set_fault_report`) so that the arch layer imports no kernel module above it.
static FAULT_REPORT: spin::Once<fn(u64, u64, u64, u64)> = spin::Once::new();

/// Sets the reporter of S-EL1 exceptions (the first call wins; boot calls it first thing).
pub fn set_fault_report(report: fn(u64, u64, u64, u64)) {
    FAULT_REPORT.call_once(|| report);
}

/// Handles an exception taken from S-EL1 itself: a bug in the SPMC. Reports and stops the core.
extern "C" fn kernel_fault(kind: u64, esr: u64, elr: u64, far: u64) -> ! {
    if let Some(report) = FAULT_REPORT.get() {
        report(kind, esr, elr, far);
    }
    refuse_forever()
}

/// Ends this core's useful life after an SPMC bug (panic or exception at S-EL1): the call in
/// progress and every later one on this core are answered FFA_ERROR(ABORTED), so the normal
/// world gets an error instead of a hang. Nothing else is touched: state may be inconsistent.
/// During initialisation the same FFA_ERROR tells EL3 that init failed.
pub fn refuse_forever() -> ! {
    // Locks this core holds now stay held: waiters on them get an error instead of spinning
    // for ever (`crate::sync::CoreLock`).
    crate::sync::retire(current_core());
    const FFA_ERROR_32: u64 = 0x8400_0060;
    const ABORTED: u64 = (-8i32) as u32 as u64;
    loop {
        let mut r = [0u64; 18];
        r[0] = FFA_ERROR_32;
        r[2] = ABORTED;
        smc(&mut r);
    }
}

/// This core's linear ID: the index of its `PERCPU` entry, which the entry code put in
/// TPIDR_EL1.
pub fn current_core() -> usize {
    let tp: u64;
    // SAFETY: reading TPIDR_EL1 has no side effect; EL0 cannot write it.
    unsafe { asm!("mrs {}, tpidr_el1", out(reg) tp, options(nomem, nostack, preserves_flags)) };
    let base = core::ptr::addr_of!(PERCPU) as u64;
    (tp.wrapping_sub(base) / core::mem::size_of::<PerCpu>() as u64) as usize
}

/// Returns the physical address of the secondary cores' entry point.
pub fn secondary_entry() -> u64 {
    _secondary_start as *const () as usize as u64
}

/// CPACR_EL1 with FP/SIMD trapped at EL0 only (FPEN = 0b01): the state outside an SP's FP run.
const CPACR_FP_EL0_TRAPPED: u64 = 1 << 20;
/// CPACR_EL1 with FP/SIMD not trapped (FPEN = 0b11): while the running SP's registers are live.
const CPACR_FP_ON: u64 = 3 << 20;

fn write_cpacr(v: u64) {
    // SAFETY: CPACR_EL1.FPEN only changes whether FP/SIMD instructions trap; the ISB makes the
    // change take effect before the next instruction (or the ERET).
    unsafe { asm!("msr cpacr_el1, {0}", "isb", in(reg) v, options(nomem, nostack)) };
}

/// First FP/SIMD use by `regs`' context in this run: keep the normal world's registers (once
/// per return to the normal world), load the context's, and stop trapping.
fn fp_enter(regs: &UserRegs) {
    let cpu = this_cpu();
    if cpu.nw_fp_saved.load(Ordering::Relaxed) == 0 {
        // SAFETY: `nw_fp` is this core's (see PerCpuArray), 16-byte aligned, and nothing else
        // refers to it now; FPEN = 0b01 lets EL1 execute the FP/SIMD stores.
        unsafe { spmc_fp_save(cpu.nw_fp.get()) };
        cpu.nw_fp_saved.store(1, Ordering::Relaxed);
    }
    // SAFETY: `regs.fp` is a valid, aligned FpRegs; the load only reads it.
    unsafe { spmc_fp_load(&regs.fp) };
    write_cpacr(CPACR_FP_ON);
}

/// End of a run in which the context used FP/SIMD: keep its registers, trap again.
fn fp_leave(regs: &mut UserRegs) {
    // SAFETY: `regs.fp` is a valid, aligned, exclusively borrowed FpRegs.
    unsafe { spmc_fp_save(&mut regs.fp) };
    write_cpacr(CPACR_FP_EL0_TRAPPED);
}

/// Before any SMC (which may hand the core to the normal world): put the normal world's
/// FP/SIMD registers back if an SP's were loaded since.
fn fp_restore_normal_world() {
    let cpu = this_cpu();
    if cpu.nw_fp_saved.load(Ordering::Relaxed) != 0 {
        // SAFETY: as in `fp_enter`; the registers it saved are restored unchanged.
        unsafe { spmc_fp_load(cpu.nw_fp.get()) };
        cpu.nw_fp_saved.store(0, Ordering::Relaxed);
    }
}

/// Runs an S-EL0 context with the given translation table (TTBR0_EL1 value, with ASID) until it
/// traps back to S-EL1.
///
/// FP/SIMD is switched lazily: a context starts each run with FP/SIMD trapped; its first use
/// loads its registers (after saving the normal world's, see `fp_enter`) and the run goes on
/// without returning to the caller; when the run ends its registers are saved back into
/// `regs.fp`. So no context ever sees another's registers, a context that never uses FP/SIMD
/// costs nothing, and between runs every SP's state is in memory (a context may next run on
/// another core).
pub fn run_user(regs: &mut UserRegs, ttbr0: u64) -> Exit {
    // SAFETY: TTBR0 points at a table that maps the kernel exactly as the current one does
    // (every SP table contains the kernel's global mappings), so switching it does not unmap
    // anything the kernel uses. The ISB makes the switch take effect before the ERET.
    unsafe { asm!("msr ttbr0_el1, {0}", "isb", in(reg) ttbr0, options(nostack)) };
    let mut fp_live = false;
    let kind = loop {
        // SAFETY: `regs` is a valid, exclusively borrowed UserRegs for the whole call; the
        // assembly saves and restores every callee-saved register and the stack pointer, and
        // only writes through `regs`.
        let kind = unsafe { spmc_run_user(regs) };
        if kind == 0 && !fp_live && esr::ec(read_esr()) == esr::EC_FP {
            // ELR points at the trapped instruction: resuming re-executes it.
            fp_enter(regs);
            fp_live = true;
            continue;
        }
        break kind;
    };
    if fp_live {
        fp_leave(regs);
    }
    match kind {
        0 => Exit::Sync {
            esr: read_esr(),
            far: read_far(),
        },
        1 => Exit::Irq,
        2 => Exit::Fiq,
        _ => Exit::SError { esr: read_esr() },
    }
}

fn read_esr() -> u64 {
    let v: u64;
    // SAFETY: reading ESR_EL1 has no side effects.
    unsafe { asm!("mrs {0}, esr_el1", out(reg) v, options(nomem, nostack)) };
    v
}

fn read_far() -> u64 {
    let v: u64;
    // SAFETY: reading FAR_EL1 has no side effects.
    unsafe { asm!("mrs {0}, far_el1", out(reg) v, options(nomem, nostack)) };
    v
}

/// Issues an SMC to EL3 with x0-x17 from `regs`, and stores x0-x17 of the answer back in
/// place (SMCCC v1.2 register usage). Hand-written rather than `smccc::smc64`: that one takes
/// and returns the registers by value, which cost about 200 instructions per call on the
/// message path (measured with `cargo xtask bench`, docs/performance.md).
pub fn smc(regs: &mut [u64; 18]) {
    fp_restore_normal_world();
    // SAFETY: per SMCCC v1.2 the SMC returns in x0-x17 and preserves x18-x30 and SP; EL3 does
    // not touch S-EL1 memory the Rust code relies on.
    unsafe {
        asm!(
            "smc #0",
            inout("x0") regs[0], inout("x1") regs[1], inout("x2") regs[2], inout("x3") regs[3],
            inout("x4") regs[4], inout("x5") regs[5], inout("x6") regs[6], inout("x7") regs[7],
            inout("x8") regs[8], inout("x9") regs[9], inout("x10") regs[10],
            inout("x11") regs[11], inout("x12") regs[12], inout("x13") regs[13],
            inout("x14") regs[14], inout("x15") regs[15], inout("x16") regs[16],
            inout("x17") regs[17],
            options(nostack)
        )
    };
}

/// Memory attribute indices programmed into MAIR_EL1 by [`enable_mmu`].
pub const MAIR_DEVICE_NGNRE: usize = 0;
pub const MAIR_NORMAL_WB: usize = 1;

/// Programs MAIR/TCR for 48-bit TTBR0 translation with 4 KiB granules and 8-bit ASIDs, installs
/// `ttbr0` and turns on the MMU and caches.
///
/// # Safety
/// `ttbr0` must point at a valid table that identity-maps all code, data and stack the kernel
/// uses (executable code not PXN), so that execution continues at the same addresses.
pub unsafe fn enable_mmu(ttbr0: u64) {
    // Byte n is AttrN. Attr0 = Device-nGnRE (0x04), Attr1 = Normal inner/outer write-back
    // non-transient RW-allocate (0xFF). Attr2..4 = Device-nGnRnE (0x00), Device-nGRE (0x08),
    // Device-GRE (0x0C), for SP mappings of device memory with the type a memory transaction
    // gave (kernel/src/memory.rs).
    let mair = u64::from_le_bytes([0x04, 0xff, 0x00, 0x08, 0x0c, 0, 0, 0]);
    // T0SZ = 16 (48-bit VA), IRGN0/ORGN0 = WB RA WA, SH0 = inner, TG0 = 4K, EPD1 = 1 (no
    // TTBR1 walks), IPS = 48 bits, A1 = 0 (ASID from TTBR0), AS = 0 (8-bit ASID).
    let tcr: u64 = 16 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23) | (5 << 32);
    // SCTLR_EL1: M, C, SA, SA0, I, and the RES1 bits of ARMv8.0 (11, 20, 22, 23, 28, 29);
    // and what Linux grants EL0 and C runtimes expect: DZE (14: DC ZVA, DCZID_EL0.DZP = 0),
    // UCT (15: CTR_EL0), UCI (26: DC CVAU/CVAC/CIVAC, IC IVAU by VA, checked against the
    // EL0 mapping). WFI/WFE from EL0 stay trapped (nTWI = nTWE = 0).
    let sctlr: u64 = (1 << 0)
        | (1 << 2)
        | (1 << 3)
        | (1 << 4)
        | (1 << 12)
        | (1 << 14)
        | (1 << 15)
        | (1 << 26)
        | (1 << 11)
        | (1 << 20)
        | (1 << 22)
        | (1 << 23)
        | (1 << 28)
        | (1 << 29);
    // SAFETY: the caller guarantees the table identity-maps everything in use; the TLB is
    // invalidated before the MMU is enabled and ISBs order the system register writes.
    unsafe {
        asm!(
            "msr mair_el1, {mair}",
            "msr tcr_el1, {tcr}",
            "msr ttbr0_el1, {ttbr0}",
            "dsb ish",
            "tlbi vmalle1",
            "dsb ish",
            "isb",
            "msr sctlr_el1, {sctlr}",
            "isb",
            mair = in(reg) mair,
            tcr = in(reg) tcr,
            ttbr0 = in(reg) ttbr0,
            sctlr = in(reg) sctlr,
            options(nostack)
        )
    };
}

/// Installs a new kernel TTBR0 value (same kernel mappings, another ASID's user part).
pub fn set_ttbr0(ttbr0: u64) {
    // SAFETY: as for `run_user`: every table carries the kernel's mappings.
    unsafe { asm!("msr ttbr0_el1, {0}", "isb", in(reg) ttbr0, options(nostack)) };
}

/// Invalidates all TLB entries of one ASID on all cores (after unmapping from an SP).
pub fn tlbi_asid(asid: u16) {
    let arg = u64::from(asid) << 48;
    // SAFETY: TLB maintenance has no effect on memory contents.
    unsafe {
        asm!("dsb ishst", "tlbi aside1is, {0}", "dsb ish", "isb", in(reg) arg, options(nostack))
    };
}

/// Reads the virtual counter (CNTVCT_EL0).
pub fn counter() -> u64 {
    let v: u64;
    // SAFETY: reading the counter has no side effects.
    unsafe { asm!("isb", "mrs {0}, cntvct_el0", out(reg) v, options(nomem, nostack)) };
    v
}

/// Alias-window ranges the kernel may copy to and from, and the window's offset from the
/// physical address (set once at boot).
static ALIAS_RANGES: spin::Once<(&'static [ffa_abi::PhysRange], u64)> = spin::Once::new();

/// Records which physical ranges the alias window maps (all of them present memory) and at
/// which offset (`memory::ALIAS_OFFSET`).
pub fn set_alias_ranges(ranges: &'static [ffa_abi::PhysRange], offset: u64) {
    ALIAS_RANGES.call_once(|| (ranges, offset));
}

fn alias_ptr(pa: u64, len: usize) -> Option<*mut u8> {
    let len64 = u64::try_from(len).ok()?;
    let (ranges, offset) = *ALIAS_RANGES.get()?;
    if !ranges.iter().any(|r| r.contains(pa, len64)) {
        return None;
    }
    let va = pa.checked_add(offset)?;
    Some(usize::try_from(va).ok()? as *mut u8)
}

/// Programs this core's secure physical timer (CNTPS_CVAL_EL1, CNTPS_CTL_EL1: enabled and
/// unmasked, or off). S-EL1 may access it because EL3 sets SCR_EL3.ST (TF-A's SPMD enters the
/// SPMC with `EP_ST_ENABLE`). No ISB: this is on the message path, and the ERET into the
/// partition (or the SMC to EL3) that follows is context-synchronising.
pub fn secure_timer(deadline: Option<u64>) {
    match deadline {
        // SAFETY: the CNTPS registers only control this core's secure timer and its
        // interrupt; no memory is touched.
        Some(d) => unsafe {
            asm!("msr S3_7_C14_C2_2, {0}", "msr S3_7_C14_C2_1, {1}", in(reg) d, in(reg) 1u64, options(nomem, nostack))
        },
        // SAFETY: as above; disabling the timer lowers its interrupt.
        None => unsafe { asm!("msr S3_7_C14_C2_1, xzr", options(nomem, nostack)) },
    }
}

/// Reads the physical counter (CNTPCT_EL0), which the secure physical timer compares with.
/// Without an ISB: a read a few instructions early only moves a deadline of milliseconds by
/// nanoseconds.
pub fn physical_counter() -> u64 {
    let v: u64;
    // SAFETY: reading the counter has no side effects.
    unsafe { asm!("mrs {0}, cntpct_el0", out(reg) v, options(nomem, nostack)) };
    v
}

/// The generic timer's frequency (CNTFRQ_EL0), in ticks per second.
pub fn counter_frequency() -> u64 {
    let v: u64;
    // SAFETY: reading CNTFRQ_EL0 has no side effects.
    unsafe { asm!("mrs {0}, cntfrq_el0", out(reg) v, options(nomem, nostack)) };
    v
}

/// Copies physical memory at `pa` into `buf` through the alias window; false (nothing copied)
/// unless the whole range is in a range the window maps.
pub fn read_phys(pa: u64, buf: &mut [u8]) -> bool {
    let Some(src) = alias_ptr(pa, buf.len()) else {
        return false;
    };
    // SAFETY: `alias_ptr` checked that [pa, pa + len) lies in a range the alias window maps
    // (present memory, outside the SPMC's own image, so no Rust object aliases it); the
    // copy is volatile-free plain memory traffic that other worlds may change concurrently,
    // which only affects the bytes read.
    unsafe { core::ptr::copy_nonoverlapping(src, buf.as_mut_ptr(), buf.len()) };
    true
}

/// Copies `data` to physical memory at `pa` through the alias window; false (nothing written)
/// unless the whole range is in a range the window maps.
pub fn write_phys(pa: u64, data: &[u8]) -> bool {
    let Some(dst) = alias_ptr(pa, data.len()) else {
        return false;
    };
    // SAFETY: as in `read_phys`: the destination is mapped, writable through the alias
    // window and not part of any Rust object.
    unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len()) };
    true
}

/// Zeroes `len` bytes of physical memory at `pa` through the alias window (DC ZVA for whole
/// blocks); false (nothing written) unless the whole range is mapped.
pub fn zero_phys(pa: u64, len: u64) -> bool {
    let Some(len) = usize::try_from(len).ok() else {
        return false;
    };
    let Some(start) = alias_ptr(pa, len) else {
        return false;
    };
    let dczid: u64;
    // SAFETY: reading DCZID_EL0 has no side effects.
    unsafe { asm!("mrs {0}, dczid_el0", out(reg) dczid, options(nomem, nostack)) };
    let block = 4usize << (dczid & 0xf);
    let start = start as usize;
    let end = start + len;
    // DC ZVA zeroes a whole aligned block per instruction (unless prohibited, bit 4).
    let (head_end, body_end) = if dczid & (1 << 4) == 0 {
        let h = start.next_multiple_of(block).min(end);
        (h, h + (end - h) / block * block)
    } else {
        (end, end)
    };
    // SAFETY: `alias_ptr` checked that the whole range is mapped (normal write-back memory
    // through the alias window) and belongs to no Rust object; the head and tail are
    // plain byte writes, the body whole DC ZVA blocks inside the range.
    unsafe {
        core::ptr::write_bytes(start as *mut u8, 0, head_end - start);
        let mut p = head_end;
        while p < body_end {
            asm!("dc zva, {0}", in(reg) p, options(nostack));
            p += block;
        }
        core::ptr::write_bytes(body_end as *mut u8, 0, end - body_end);
    }
    true
}

/// Makes instructions written to `pa..pa + len` through the alias window visible to
/// instruction fetch (clean to the point of unification, invalidate the instruction cache).
pub fn sync_icache(pa: u64, len: u64) {
    let Some(start) = usize::try_from(len).ok().and_then(|l| alias_ptr(pa, l)) else {
        return;
    };
    const LINE: usize = 64;
    let mut p = (start as usize) & !(LINE - 1);
    let end = start as usize + len as usize;
    while p < end {
        // SAFETY: `alias_ptr` checked the range is mapped through the alias window; a
        // cache clean by VA has no effect on memory contents.
        unsafe { asm!("dc cvau, {0}", in(reg) p, options(nostack)) };
        p += LINE;
    }
    // SAFETY: barriers and instruction-cache invalidation have no effect on memory.
    unsafe { asm!("dsb ish", "ic ialluis", "dsb ish", "isb", options(nostack)) };
}

/// FFA_EL3_INTR_HANDLE to EL3: hands it the Group 0 interrupt pending here; true if it
/// answered FFA_SUCCESS.
pub fn el3_intr_handle() -> bool {
    use ffa_abi::func_id::FuncId;
    let mut r = [0u64; 18];
    r[0] = u64::from(FuncId::El3IntrHandle.raw());
    smc(&mut r);
    r[0] as u32 == FuncId::Success32.raw()
}
