package dev.glint.hv.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.glint.hv.DescriptorTable;
import dev.glint.hv.Registers;
import dev.glint.hv.Segment;
import dev.glint.hv.SpecialRegisters;
import dev.glint.hv.kvm.internal.sys.KvmRegs;
import dev.glint.hv.kvm.internal.sys.KvmSregs;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The conversion between KVM's register structs and the neutral records, without KVM: every field
 * of every segment round-trips exactly, and the {@code s} bit is the negation of {@code system}.
 */
class KvmRegisterConversionTest {

  static Segment randomSegment(SplittableRandom random) {
    return new Segment(
        random.nextLong(),
        random.nextLong(1L << 32),
        random.nextInt(1 << 16),
        random.nextInt(16),
        random.nextBoolean(),
        random.nextInt(4),
        random.nextBoolean(),
        random.nextBoolean(),
        random.nextBoolean(),
        random.nextBoolean(),
        random.nextBoolean());
  }

  static SpecialRegisters randomSpecialRegisters(SplittableRandom random) {
    return new SpecialRegisters(
        randomSegment(random),
        randomSegment(random),
        randomSegment(random),
        randomSegment(random),
        randomSegment(random),
        randomSegment(random),
        randomSegment(random),
        randomSegment(random),
        new DescriptorTable(random.nextLong(), random.nextInt(1 << 16)),
        new DescriptorTable(random.nextLong(), random.nextInt(1 << 16)),
        random.nextLong(),
        random.nextLong(),
        random.nextLong(),
        random.nextLong(),
        random.nextLong(),
        random.nextLong(),
        random.nextLong());
  }

  @Test
  void specialRegistersRoundTrip() {
    SplittableRandom random = new SplittableRandom(42);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment buffer = arena.allocate(KvmSregs.LAYOUT.byteSize() + 64);
      for (int i = 0; i < 1000; i++) {
        SpecialRegisters sregs = randomSpecialRegisters(random);
        long base = 8L * random.nextInt(8); // also at an offset, as inside kvm_run
        KvmSregs.write(buffer, base, sregs);
        assertEquals(sregs, KvmSregs.read(buffer, base));
      }
    }
  }

  @Test
  void systemIsTheNegationOfTheSBit() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment buffer = arena.allocate(KvmSregs.LAYOUT);
      Segment code = new Segment(0, 0xFFFF_FFFFL, 8, 0xB, true, 0, false, false, true, true, false);
      SpecialRegisters sregs =
          new SpecialRegisters(
              code,
              code,
              code,
              code,
              code,
              code,
              code,
              code,
              new DescriptorTable(0, 0),
              new DescriptorTable(0, 0),
              0,
              0,
              0,
              0,
              0,
              0,
              0);
      KvmSregs.write(buffer, 0, sregs);
      long s =
          KvmSregs.LAYOUT.byteOffset(
              java.lang.foreign.MemoryLayout.PathElement.groupElement("cs"),
              java.lang.foreign.MemoryLayout.PathElement.groupElement("s"));
      assertEquals(1, buffer.get(ValueLayout.JAVA_BYTE, s), "a code segment has s = 1");
    }
  }

  @Test
  void registersRoundTripInKvmOrder() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment buffer = arena.allocate(KvmRegs.LAYOUT);
      long[] values = new long[18];
      for (int i = 0; i < values.length; i++) {
        values[i] = 0x1111_1111_1111_1111L * (i + 1);
      }
      values[17] = 0x202;
      Registers regs = Registers.fromArray(values);
      KvmRegs.write(buffer, 0, regs);
      assertEquals(regs, KvmRegs.read(buffer, 0));
      assertEquals(values[16], buffer.get(ValueLayout.JAVA_LONG, 128), "rip is the 17th __u64");
    }
  }
}
