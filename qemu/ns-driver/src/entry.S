/*
 * Entry points and EL2 vectors of the normal-world driver. _start is the cold-boot entry on the
 * primary core (x0 = QEMU's DTB); secondary_entry is the PSCI CPU_ON entry (x0 = context id =
 * core index). Exceptions save the caller-saved registers, let ns_exception decide where to
 * resume (it skips a faulting probe load), and return.
 */
    .equ STACK_SIZE, 0x10000

    .section .text.boot, "ax"
    .global _start
_start:
    mov     x19, x0
    mov     x1, #0x33ff             /* CPTR_EL2: RES1 bits only, FP/SIMD not trapped */
    msr     cptr_el2, x1
    isb
    ldr     x1, =__stacks_top
    mov     sp, x1
    ldr     x1, =__bss_start
    ldr     x2, =__bss_end
1:  cmp     x1, x2
    b.hs    2f
    str     xzr, [x1], #8
    b       1b
2:  ldr     x1, =ns_vectors
    msr     vbar_el2, x1
    isb
    msr     daifclr, #4             /* take SErrors: a probe must see them */
    mov     x0, x19
    bl      ns_main
3:  wfe
    b       3b

    .global secondary_entry
secondary_entry:
    mov     x1, #0x33ff
    msr     cptr_el2, x1
    isb
    and     x2, x0, #7
    ldr     x1, =__stacks_top
    mov     x3, #STACK_SIZE
    msub    x1, x2, x3, x1
    mov     sp, x1
    ldr     x1, =ns_vectors
    msr     vbar_el2, x1
    isb
    msr     daifclr, #4
    bl      secondary_main
4:  wfe
    b       4b
    .ltorg

    .text
exception_common:
    stp     x2, x3, [sp, #0x10]
    stp     x4, x5, [sp, #0x20]
    stp     x6, x7, [sp, #0x30]
    stp     x8, x9, [sp, #0x40]
    stp     x10, x11, [sp, #0x50]
    stp     x12, x13, [sp, #0x60]
    stp     x14, x15, [sp, #0x70]
    stp     x16, x17, [sp, #0x80]
    stp     x18, x29, [sp, #0x90]
    str     x30, [sp, #0xa0]
    mrs     x1, esr_el2
    mrs     x2, elr_el2
    mrs     x3, far_el2
    bl      ns_exception
    msr     elr_el2, x0
    ldp     x2, x3, [sp, #0x10]
    ldp     x4, x5, [sp, #0x20]
    ldp     x6, x7, [sp, #0x30]
    ldp     x8, x9, [sp, #0x40]
    ldp     x10, x11, [sp, #0x50]
    ldp     x12, x13, [sp, #0x60]
    ldp     x14, x15, [sp, #0x70]
    ldp     x16, x17, [sp, #0x80]
    ldp     x18, x29, [sp, #0x90]
    ldr     x30, [sp, #0xa0]
    ldp     x0, x1, [sp, #0x00]
    add     sp, sp, #0xb0
    eret

    .macro vector kind
    .balign 0x80
    sub     sp, sp, #0xb0
    stp     x0, x1, [sp, #0x00]
    mov     x0, #\kind
    b       exception_common
    .endm

    .balign 0x800
    .global ns_vectors
ns_vectors:
    vector 0
    vector 1
    vector 2
    vector 3
    vector 4
    vector 5
    vector 6
    vector 7
    vector 8
    vector 9
    vector 10
    vector 11
    vector 12
    vector 13
    vector 14
    vector 15
