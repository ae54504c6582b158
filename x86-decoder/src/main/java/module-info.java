/**
 * The x86 instruction decoder of Glint: legacy prefixes, REX, the one-, two- and three-byte opcode
 * maps as far as {@link dev.glint.x86.decoder.InstructionTable} lists them, ModRM/SIB and
 * displacements in real, 32-bit protected and 64-bit mode. Shared by the emulated backend and by
 * hypervisor backends that must complete a memory-mapped I/O access themselves ({@link
 * dev.glint.x86.decoder.MmioInstruction}). Depends on nothing but the JDK.
 */
module dev.glint.x86.decoder {
  exports dev.glint.x86.decoder;
}
