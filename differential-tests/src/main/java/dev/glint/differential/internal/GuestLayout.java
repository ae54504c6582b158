package dev.glint.differential.internal;

import dev.glint.hv.DescriptorTable;
import dev.glint.hv.SpecialRegisters;
import dev.glint.hv.x86.Gdt;
import dev.glint.hv.x86.InterruptDescriptorTable;
import dev.glint.hv.x86.LongMode;
import dev.glint.hv.x86.PageAttribute;
import dev.glint.hv.x86.PageTableBuilder;
import dev.glint.hv.x86.TaskStateSegment;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The guest every case runs in: long mode, the code at CPL 3, identity-mapped, one RAM mapping of
 * {@link #RAM_SIZE} bytes at guest-physical 0. Built with the {@code dev.glint.hv.x86} helpers.
 *
 * <pre>
 *   0x01000  page tables (8 pages reserved)
 *   0x09000  GDT          0x0A000  IDT (32 gates, DPL 0)       0x0B000  TSS (RSP0, I/O bitmap)
 *   0x0C000  fault stubs (supervisor, read-only, executable), 32 bytes per vector
 *   0x0D000  kernel stack (supervisor), top 0x0E000; the stubs leave the frame there
 *   0x0E000  supervisor data page (a CPL-3 access faults)
 *   0x10000  user code page (user, read-only, executable): the case's bytes, then ud2 filler
 *   0x12000  user data, 2 pages (user, writable, no-execute): random contents, compared
 *   0x14000  user stack page (user, writable, no-execute): random contents, compared
 *   0x15000  user read-only page (user, no-execute): random contents
 *   0x16000  backed but not in the page tables (an access faults, not present)
 *   0x17000  XMM area (user, writable, no-execute): XMM0..15 and MXCSR, loaded by an SSE case's
 *            prologue and stored by its epilogue (KVM on PVM cannot read or write the FPU state)
 * </pre>
 *
 * <p>Faults: each vector's stub pushes an error code (0 for vectors without one), RAX and CR2, then
 * reports with {@code out 0xE0, eax} (EAX = vector) from CPL 0 and halts. The host reads the frame
 * from the kernel stack, so a fault clobbers no user register the host cannot restore.
 */
public final class GuestLayout {
  private GuestLayout() {}

  /** Bytes of guest RAM. */
  public static final long RAM_SIZE = 0x18000;

  public static final long PAGE_TABLES = 0x1000;
  public static final long PAGE_TABLE_AREA = 0x8000;
  public static final long GDT = 0x9000;
  public static final long IDT = 0xA000;
  public static final long TSS = 0xB000;
  public static final long FAULT_STUBS = 0xC000;
  public static final int FAULT_STUB_SIZE = 32;
  public static final int FAULT_VECTORS = 32;
  public static final long KERNEL_STACK = 0xD000;
  public static final long KERNEL_STACK_TOP = 0xE000;

  /** A supervisor-only page: a CPL-3 access faults with a protection violation. */
  public static final long SUPERVISOR_PAGE = 0xE000;

  /** The user code page, where a case's bytes start. */
  public static final long CODE = 0x10000;

  /** The size of the code area, bytes. */
  public static final int CODE_SIZE = 0x1000;

  /** The first user data page. */
  public static final long DATA = 0x12000;

  /** The user data pages' size. */
  public static final long DATA_SIZE = 0x2000;

  /** The user stack page. */
  public static final long STACK = 0x14000;

  /** The user read-only page. */
  public static final long READ_ONLY = 0x15000;

  /** A page backed by RAM but absent from the page tables. */
  public static final long NOT_MAPPED = 0x16000;

  /** Where an SSE case's prologue loads XMM0..XMM15 from and its epilogue stores them. */
  public static final long XMM_AREA = 0x17000;

  /** Where an SSE case's prologue loads MXCSR from and its epilogue stores it. */
  public static final long MXCSR_SLOT = XMM_AREA + 0x100;

  /** The first byte compared after a case: data and stack pages. */
  public static final long COMPARED_START = DATA;

  /** The number of bytes compared from {@link #COMPARED_START}. */
  public static final int COMPARED_SIZE = (int) (READ_ONLY - DATA);

  /** The port a case writes to say it is done: {@code out 0x1f, al}. */
  public static final int DONE_PORT = 0x1F;

  /** The port the fault stubs report on. */
  public static final int FAULT_PORT = 0xE0;

  /** The ports CPL-3 code may use: 0x10 to 0x1F. */
  public static final int FIRST_USER_PORT = 0x10;

  /** The number of ports CPL-3 code may use from {@link #FIRST_USER_PORT}. */
  public static final int USER_PORTS = 0x10;

  /** A port the TSS bitmap denies: {@code out} there raises #GP(0). */
  public static final int DENIED_PORT = 0x80;

  private static final TaskStateSegment TASK_STATE =
      TaskStateSegment.builder()
          .rsp0(KERNEL_STACK_TOP)
          .allowPortRange(FIRST_USER_PORT, USER_PORTS)
          .build();

  private static final LongMode LONG_MODE =
      new LongMode(
          GDT,
          new DescriptorTable(IDT, FAULT_VECTORS * InterruptDescriptorTable.GATE_SIZE - 1),
          TSS,
          TASK_STATE.limit(),
          PAGE_TABLES);

  /** {@return the special registers for CPL 3 in this layout} */
  public static SpecialRegisters userMode() {
    return LONG_MODE.userMode();
  }

  /** Writes the page tables, GDT, IDT, TSS and fault stubs into {@code ram}. */
  public static void writeSystemTables(MemorySegment ram) {
    Set<PageAttribute> supervisorData = Set.of(PageAttribute.WRITABLE, PageAttribute.NO_EXECUTE);
    Set<PageAttribute> userData =
        Set.of(PageAttribute.USER, PageAttribute.WRITABLE, PageAttribute.NO_EXECUTE);
    new PageTableBuilder()
        .map(PAGE_TABLES, FAULT_STUBS - PAGE_TABLES, supervisorData)
        .map(FAULT_STUBS, 0x1000, Set.of())
        .map(KERNEL_STACK, 0x2000, supervisorData)
        .map(CODE, CODE_SIZE, Set.of(PageAttribute.USER))
        .map(DATA, READ_ONLY - DATA, userData)
        .map(READ_ONLY, 0x1000, Set.of(PageAttribute.USER, PageAttribute.NO_EXECUTE))
        .map(XMM_AREA, 0x1000, userData)
        .write(ram, 0, PAGE_TABLES, PAGE_TABLE_AREA);
    Gdt.write(ram, GDT, TSS, TASK_STATE.limit());
    TASK_STATE.write(ram, TSS);
    InterruptDescriptorTable idt = new InterruptDescriptorTable(FAULT_VECTORS);
    for (int vector = 0; vector < FAULT_VECTORS; vector++) {
      long stub = FAULT_STUBS + (long) vector * FAULT_STUB_SIZE;
      byte[] bytes = faultStub(vector);
      MemorySegment.copy(bytes, 0, ram, ValueLayout.JAVA_BYTE, stub, bytes.length);
      // int3 (vector 3) may be raised from CPL 3: its gate has DPL 3, as operating systems set it.
      idt.setInterruptGate(vector, stub, vector == 3 ? 3 : 0, 0);
    }
    idt.write(ram, IDT);
  }

  /**
   * {@return the stub for {@code vector}}
   *
   * <pre>
   *   6a 00           push 0            ; only for vectors without an error code
   *   50              push rax
   *   0f 20 d0        mov rax, cr2
   *   50              push rax
   *   b8 vv 00 00 00  mov eax, vector
   *   e7 e0           out 0xe0, eax
   *   f4              hlt
   *   eb fd           jmp -3            ; back to the hlt
   * </pre>
   */
  static byte[] faultStub(int vector) {
    byte[] stub = new byte[FAULT_STUB_SIZE];
    java.util.Arrays.fill(stub, (byte) 0x90);
    int at = 0;
    if (!hasErrorCode(vector)) {
      stub[at++] = 0x6a;
      stub[at++] = 0x00;
    }
    byte[] rest = {
      0x50,
      0x0f,
      0x20,
      (byte) 0xd0,
      0x50,
      (byte) 0xb8,
      (byte) vector,
      0,
      0,
      0,
      (byte) 0xe7,
      (byte) FAULT_PORT,
      (byte) 0xf4,
      (byte) 0xeb,
      (byte) 0xfd
    };
    System.arraycopy(rest, 0, stub, at, rest.length);
    return stub;
  }

  /** {@return whether the CPU pushes an error code for exception {@code vector}} */
  static boolean hasErrorCode(int vector) {
    return switch (vector) {
      case 8, 10, 11, 12, 13, 14, 17, 21, 29, 30 -> true;
      default -> false;
    };
  }

  /** Offsets below {@link #KERNEL_STACK_TOP} of what the CPU and the stub leave on the stack. */
  public static final int FRAME_SS = 8;

  public static final int FRAME_RSP = 16;
  public static final int FRAME_RFLAGS = 24;
  public static final int FRAME_CS = 32;
  public static final int FRAME_RIP = 40;
  public static final int FRAME_ERROR_CODE = 48;
  public static final int FRAME_RAX = 56;
  public static final int FRAME_CR2 = 64;

  /**
   * Fills the user data, stack and read-only pages from {@code seed}: the same bytes on every
   * backend. Words are drawn from a mix of random values and edge cases (0, -1, sign bits, small
   * numbers, floating-point specials) so that arithmetic meets its corner cases.
   */
  public static void fillUserPages(MemorySegment ram, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    for (long at = DATA; at < READ_ONLY + 0x1000; at += 8) {
      ram.set(ValueLayout.JAVA_LONG_UNALIGNED, at, Values.word(random));
    }
    byte[] xmm = xmmFrom(seed);
    MemorySegment.copy(xmm, 0, ram, ValueLayout.JAVA_BYTE, XMM_AREA, xmm.length);
    ram.set(ValueLayout.JAVA_INT_UNALIGNED, MXCSR_SLOT, mxcsrFrom(seed));
  }

  /**
   * {@return the MXCSR an SSE case starts with}: all exceptions masked, usually round to nearest;
   * sometimes another rounding mode, flush-to-zero or denormals-are-zero
   */
  public static int mxcsrFrom(long seed) {
    SplittableRandom random = new SplittableRandom(seed ^ 0x2545F4914F6CDD1DL);
    int mxcsr = 0x1F80;
    if (random.nextInt(4) == 0) {
      mxcsr |= random.nextInt(4) << 13;
    }
    if (random.nextInt(10) == 0) {
      mxcsr |= 1 << 15; // FTZ
    }
    if (random.nextInt(10) == 0) {
      mxcsr |= 1 << 6; // DAZ
    }
    return mxcsr;
  }

  /** {@return the 16 XMM registers (256 bytes) drawn from {@code seed}} */
  public static byte[] xmmFrom(long seed) {
    SplittableRandom random = new SplittableRandom(seed ^ 0x5DEECE66DL);
    byte[] xmm = new byte[256];
    for (int i = 0; i < 32; i++) {
      long word = Values.word(random);
      for (int b = 0; b < 8; b++) {
        xmm[i * 8 + b] = (byte) (word >>> (8 * b));
      }
    }
    return xmm;
  }
}
