/**
 * Backend-neutral x86-64 helpers: architectural constants, identity-mapped long-mode page tables,
 * GDT/IDT/TSS construction, and the special-register values that put a vCPU into long mode at CPL 0
 * or CPL 3. Used by the conformance suite and by the sandbox; they write plain bytes into guest
 * memory and make no native calls.
 */
package dev.glint.hv.x86;
