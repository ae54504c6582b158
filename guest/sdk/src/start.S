/*
 * start.S - the guest's entry point (ABI 4).
 *
 * The host starts us with RSP = stack top (16-byte aligned) and RDI = descriptor page. The stack is
 * the host's: we keep it. RBP is cleared so that stack walks end here. `call` leaves RSP = 8 mod 16
 * at glint_main's first instruction, as the System V ABI expects.
 */
        .section .text.start, "ax", @progbits
        .globl  _start
        .type   _start, @function
_start:
        xorl    %ebp, %ebp
        andq    $-16, %rsp              /* defensive: a misaligned stack breaks SSE spills */
        call    glint_main              /* RDI is still the descriptor page */
        ud2                             /* glint_main never returns; fault loudly if it does */
        .size   _start, . - _start

        .section .note.GNU-stack, "", @progbits
