package dev.glint.hv.kvm;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.hv.VcpuExit;
import dev.glint.hv.kvm.internal.KvmPortIo;
import dev.glint.hv.kvm.internal.sys.Kvm;
import dev.glint.hv.kvm.internal.sys.KvmRun;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/**
 * String I/O batches as VMX/SVM hosts report them ({@code io.count > 1}), over a synthetic {@code
 * kvm_run}: PVM exits once per item, so the smoke tests cannot produce a batch.
 */
class KvmPortIoTest {
  static final long DATA_OFFSET = 4096;

  static MemorySegment run(Arena arena, int direction, int size, int port, int count) {
    MemorySegment run = arena.allocate(3 * 4096, 4096);
    run.set(ValueLayout.JAVA_INT, offset("exit_reason"), Kvm.KVM_EXIT_IO);
    run.set(ValueLayout.JAVA_BYTE, io("direction"), (byte) direction);
    run.set(ValueLayout.JAVA_BYTE, io("size"), (byte) size);
    run.set(ValueLayout.JAVA_SHORT, io("port"), (short) port);
    run.set(ValueLayout.JAVA_INT, io("count"), count);
    run.set(ValueLayout.JAVA_LONG, io("data_offset"), DATA_OFFSET);
    return run;
  }

  static long offset(String field) {
    return KvmRun.LAYOUT.byteOffset(groupElement(field));
  }

  static long io(String field) {
    return KvmRun.LAYOUT.byteOffset(groupElement("exit"), groupElement("io"), groupElement(field));
  }

  @Test
  void repOutswBatchBecomesOneExitPerWord() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment run = run(arena, Kvm.KVM_EXIT_IO_OUT, 2, 0x3F8, 3);
      run.set(ValueLayout.JAVA_SHORT, DATA_OFFSET, (short) 0x1111);
      run.set(ValueLayout.JAVA_SHORT, DATA_OFFSET + 2, (short) 0x2222);
      run.set(ValueLayout.JAVA_SHORT, DATA_OFFSET + 4, (short) 0xF333);
      KvmPortIo io = new KvmPortIo();
      assertEquals(new VcpuExit.IoOut(0x3F8, 2, 0x1111), io.begin(run));
      assertTrue(io.hasNext());
      assertEquals(new VcpuExit.IoOut(0x3F8, 2, 0x2222), io.next(run));
      assertEquals(new VcpuExit.IoOut(0x3F8, 2, 0xF333), io.next(run), "zero-extended");
      assertFalse(io.hasNext());
    }
  }

  @Test
  void repInsdBatchAsksForEachItemAndStoresItWhereKvmReadsIt() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment run = run(arena, Kvm.KVM_EXIT_IO_IN, 4, 0x60, 2);
      KvmPortIo io = new KvmPortIo();
      assertEquals(new VcpuExit.IoIn(0x60, 4), io.begin(run));
      io.answer(run, 0x1_AABB_CCDDL); // only 4 bytes are used
      assertTrue(io.hasNext());
      assertEquals(new VcpuExit.IoIn(0x60, 4), io.next(run));
      io.answer(run, 0x11223344);
      assertFalse(io.hasNext());
      assertEquals(0xAABB_CCDD, run.get(ValueLayout.JAVA_INT, DATA_OFFSET));
      assertEquals(0x11223344, run.get(ValueLayout.JAVA_INT, DATA_OFFSET + 4));
      assertEquals(0, run.get(ValueLayout.JAVA_INT, DATA_OFFSET + 8), "nothing written beyond");
    }
  }

  @Test
  void aBatchBeyondTheMappingIsAnInternalError() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment run = run(arena, Kvm.KVM_EXIT_IO_OUT, 4, 0x10, 4096);
      KvmPortIo io = new KvmPortIo();
      VcpuExit.InternalError error = assertInstanceOf(VcpuExit.InternalError.class, io.begin(run));
      assertTrue(error.description().contains("count 4096"), error.description());
      assertFalse(io.hasNext());
    }
  }
}
