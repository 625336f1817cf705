/*
 * Reset entry and EL3 exception vectors of the monitor. Every core starts here at EL3 with the
 * MMU off, executing from the secure flash. The primary (MPIDR.Aff0 == 0) copies the image
 * (text, rodata, data) to RAM, clears .bss and jumps to primary_main in RAM; the others wait
 * for the primary's "ready" word, then jump to secondary_main in RAM (which parks them until
 * PSCI CPU_ON). After that no core executes from the flash again (link.ld says why). Lower-EL
 * exceptions save the interrupted world's registers into the context SP_EL3 points at
 * (layout: context.rs, GpRegs), switch to the core's EL3 stack, and leave through el3_exit
 * with whatever context the Rust handler returns.
 */
    .equ STACK_SIZE, 0x4000
    .equ MAX_CORES, 8
    .equ CTX_SP_EL0_X30, 0xf0
    .equ CTX_ELR_SPSR, 0x100
    .equ CTX_RUNTIME_SP, 0x110

    .section .text.boot, "ax"
    .global _start
_start:
    mrs     x0, mpidr_el1
    /* sbsa-ref numbers up to 8 CPUs in Aff0; anything else parks for ever. */
    ubfx    x1, x0, #8, #16         /* Aff1, Aff2 */
    cbnz    x1, park_in_flash
    ubfx    x1, x0, #32, #8         /* Aff3 */
    cbnz    x1, park_in_flash
    and     x0, x0, #0xff
    cmp     x0, #MAX_CORES
    b.hs    park_in_flash
    ldr     x1, =__stacks_top
    mov     x2, #STACK_SIZE
    msub    x1, x0, x2, x1
    mov     sp, x1
    cbnz    x0, secondary_wait

    /* The image from flash to RAM, then .bss cleared. */
    ldr     x1, =__image_lma
    ldr     x2, =__image_start
    ldr     x3, =__image_end
1:  cmp     x2, x3
    b.hs    2f
    ldr     x4, [x1], #8
    str     x4, [x2], #8
    b       1b
2:  ldr     x2, =__bss_start
    ldr     x3, =__bss_end
3:  cmp     x2, x3
    b.hs    4f
    str     xzr, [x2], #8
    b       3b
    /* The copied instructions are visible to instruction fetch before the jump. */
4:  dsb     sy
    ic      iallu
    dsb     sy
    isb
    ldr     x1, =primary_main
    blr     x1
    b       park_in_flash

/* x0 = core index. Waits for the primary's BOOT_READY (written after the image is in RAM). */
secondary_wait:
    ldr     x1, =BOOT_READY
    ldr     x3, =0x52454144594d4f4e
5:  ldr     x2, [x1]
    cmp     x2, x3
    b.eq    6f
    wfe
    b       5b
6:  ic      iallu
    dsb     sy
    isb
    ldr     x1, =secondary_main
    blr     x1
/* Only cores the monitor never uses (higher affinity levels) stay in the flash. */
park_in_flash:
    wfe
    b       park_in_flash
    .ltorg

    .text
park_forever:
    wfe
    b       park_forever

/* void el3_exit(GpRegs *ctx): restores the world saved in ctx and returns to it. */
    .global el3_exit
el3_exit:
    mov     sp, x0
    ldp     x0, x1, [sp, #CTX_ELR_SPSR]
    msr     elr_el3, x0
    msr     spsr_el3, x1
    ldp     x30, x0, [sp, #CTX_SP_EL0_X30]
    msr     sp_el0, x0
    ldp     x0, x1, [sp, #0x00]
    ldp     x2, x3, [sp, #0x10]
    ldp     x4, x5, [sp, #0x20]
    ldp     x6, x7, [sp, #0x30]
    ldp     x8, x9, [sp, #0x40]
    ldp     x10, x11, [sp, #0x50]
    ldp     x12, x13, [sp, #0x60]
    ldp     x14, x15, [sp, #0x70]
    ldp     x16, x17, [sp, #0x80]
    ldp     x18, x19, [sp, #0x90]
    ldp     x20, x21, [sp, #0xa0]
    ldp     x22, x23, [sp, #0xb0]
    ldp     x24, x25, [sp, #0xc0]
    ldp     x26, x27, [sp, #0xd0]
    ldp     x28, x29, [sp, #0xe0]
    eret

/* Saves the interrupted lower-EL world into the context SP_EL3 points at (el3_exit left it
   there), moves to the runtime stack and calls the Rust `handler` (x0 = the context); then
   leaves through el3_exit with the context the handler returned. */
    .macro lower_save handler
    stp     x0, x1, [sp, #0x00]
    stp     x2, x3, [sp, #0x10]
    stp     x4, x5, [sp, #0x20]
    stp     x6, x7, [sp, #0x30]
    stp     x8, x9, [sp, #0x40]
    stp     x10, x11, [sp, #0x50]
    stp     x12, x13, [sp, #0x60]
    stp     x14, x15, [sp, #0x70]
    stp     x16, x17, [sp, #0x80]
    stp     x18, x19, [sp, #0x90]
    stp     x20, x21, [sp, #0xa0]
    stp     x22, x23, [sp, #0xb0]
    stp     x24, x25, [sp, #0xc0]
    stp     x26, x27, [sp, #0xd0]
    stp     x28, x29, [sp, #0xe0]
    mrs     x0, sp_el0
    stp     x30, x0, [sp, #CTX_SP_EL0_X30]
    mrs     x0, elr_el3
    mrs     x1, spsr_el3
    stp     x0, x1, [sp, #CTX_ELR_SPSR]
    mov     x0, sp
    ldr     x1, [x0, #CTX_RUNTIME_SP]
    mov     sp, x1
    bl      \handler
    b       el3_exit
    .endm

lower_sync_save:
    lower_save el3_lower_sync

/* FIQ from a lower EL: routed here only while the normal world runs (SCR_EL3.FIQ, percpu.rs). */
lower_fiq_save:
    lower_save el3_lower_fiq

/* Any other exception: fresh stack from MPIDR, report and stop (x0 = vector index). */
unexpected:
    mrs     x1, mpidr_el1
    and     x1, x1, #0x7
    ldr     x2, =__stacks_top
    mov     x3, #STACK_SIZE
    msub    x2, x1, x3, x2
    mov     sp, x2
    bl      el3_unexpected
    b       park_forever
    .ltorg

    .macro vector_unexpected idx
    .balign 0x80
    mov     x0, #\idx
    b       unexpected
    .endm

    .balign 0x800
    .global el3_vectors
el3_vectors:
    vector_unexpected 0
    vector_unexpected 1
    vector_unexpected 2
    vector_unexpected 3
    vector_unexpected 4
    vector_unexpected 5
    vector_unexpected 6
    vector_unexpected 7
    .balign 0x80
    b       lower_sync_save
    vector_unexpected 9
    .balign 0x80
    b       lower_fiq_save
    vector_unexpected 11
    vector_unexpected 12
    vector_unexpected 13
    vector_unexpected 14
    vector_unexpected 15
