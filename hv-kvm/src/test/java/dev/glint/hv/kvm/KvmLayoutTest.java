package dev.glint.hv.kvm;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.glint.hv.kvm.internal.sys.Errno;
import dev.glint.hv.kvm.internal.sys.Ioctl;
import dev.glint.hv.kvm.internal.sys.Kvm;
import dev.glint.hv.kvm.internal.sys.KvmCpuid2;
import dev.glint.hv.kvm.internal.sys.KvmDirtyLog;
import dev.glint.hv.kvm.internal.sys.KvmDirtyRing;
import dev.glint.hv.kvm.internal.sys.KvmEnableCap;
import dev.glint.hv.kvm.internal.sys.KvmFpu;
import dev.glint.hv.kvm.internal.sys.KvmRegs;
import dev.glint.hv.kvm.internal.sys.KvmRun;
import dev.glint.hv.kvm.internal.sys.KvmSregs;
import dev.glint.hv.kvm.internal.sys.KvmUserspaceMemoryRegion;
import dev.glint.hv.kvm.internal.sys.Libc;
import dev.glint.hv.kvm.internal.sys.Sigaction;
import java.io.File;
import java.io.IOException;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.PaddingLayout;
import java.lang.foreign.UnionLayout;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proves the hand-written layouts and constants against the real headers: writes a C program that
 * includes {@code <linux/kvm.h>} and {@code <signal.h>}, prints {@code sizeof}, {@code offsetof}
 * and the value of every member, ioctl number and constant the Java side uses, compiles it with
 * gcc, runs it and compares each value (one failure per mismatch, naming the C expression). Skipped
 * only when gcc is absent.
 */
class KvmLayoutTest {

  /** One value to compare: a C expression and what Java says it is. */
  record Check(String c, long java) {}

  @TempDir Path dir;

  @Test
  void layoutsAndConstantsMatchTheHeaders() throws Exception {
    assumeTrue(onPath("gcc"), "gcc is not on the PATH; cannot compile the layout probe");
    List<Check> checks = checks();
    assertTrue(checks.size() > 200, "expected a thorough probe, got " + checks.size() + " checks");

    StringBuilder c = new StringBuilder();
    c.append("#define _GNU_SOURCE\n")
        .append("#include <stddef.h>\n#include <stdio.h>\n#include <errno.h>\n#include <fcntl.h>\n")
        .append("#include <signal.h>\n#include <sys/mman.h>\n#include <linux/kvm.h>\n\n")
        .append("int main(void) {\n");
    for (int i = 0; i < checks.size(); i++) {
      c.append("  printf(\"%d %llu\\n\", ")
          .append(i)
          .append(", (unsigned long long) (")
          .append(checks.get(i).c())
          .append("));\n");
    }
    c.append("  return 0;\n}\n");
    Path source = dir.resolve("kvm_layout.c");
    Path binary = dir.resolve("kvm_layout");
    Files.writeString(source, c);

    String compiled =
        run(List.of("gcc", "-std=c11", "-Wall", "-o", binary.toString(), source.toString()));
    assertTrue(Files.isExecutable(binary), "gcc failed:\n" + compiled);
    String output = run(List.of(binary.toString()));

    long[] actual = new long[checks.size()];
    Arrays.fill(actual, Long.MIN_VALUE);
    for (String line : output.strip().split("\n")) {
      String[] parts = line.split(" ");
      actual[Integer.parseInt(parts[0])] = Long.parseUnsignedLong(parts[1]);
    }
    List<Executable> assertions = new ArrayList<>();
    for (int i = 0; i < checks.size(); i++) {
      Check check = checks.get(i);
      long value = actual[i];
      assertions.add(
          () ->
              assertEquals(
                  value,
                  check.java(),
                  () ->
                      "%s is %d (0x%x) in C but %d (0x%x) in Java"
                          .formatted(check.c(), value, value, check.java(), check.java())));
    }
    assertAll(assertions);
  }

  static List<Check> checks() throws IllegalAccessException {
    List<Check> checks = new ArrayList<>();
    struct(checks, "struct kvm_regs", KvmRegs.LAYOUT);
    struct(checks, "struct kvm_segment", KvmSregs.SEGMENT);
    struct(checks, "struct kvm_dtable", KvmSregs.DTABLE);
    struct(checks, "struct kvm_sregs", KvmSregs.LAYOUT);
    struct(checks, "struct kvm_userspace_memory_region", KvmUserspaceMemoryRegion.LAYOUT);
    struct(checks, "struct kvm_cpuid_entry2", KvmCpuid2.ENTRY);
    struct(checks, "struct kvm_cpuid2", KvmCpuid2.HEADER);
    checks.add(new Check("offsetof(struct kvm_cpuid2, entries)", KvmCpuid2.HEADER.byteSize()));
    struct(checks, "struct kvm_dirty_log", KvmDirtyLog.LAYOUT);
    struct(checks, "struct kvm_dirty_gfn", KvmDirtyRing.LAYOUT);
    struct(checks, "struct kvm_enable_cap", KvmEnableCap.LAYOUT);
    struct(checks, "struct kvm_fpu", KvmFpu.LAYOUT);
    struct(checks, "struct kvm_sync_regs", KvmRun.SYNC_REGS);
    checks.add(new Check("sizeof(struct kvm_vcpu_events)", KvmRun.EVENTS.byteSize()));
    struct(checks, "struct kvm_run", KvmRun.LAYOUT);
    checks.add(new Check("offsetof(struct kvm_run, s.regs.regs)", KvmRun.SYNC_REGS_REGS));
    checks.add(new Check("offsetof(struct kvm_run, s.regs.sregs)", KvmRun.SYNC_REGS_SREGS));
    struct(checks, "struct sigaction", Sigaction.LAYOUT);

    // Every constant, by its C name: ioctl numbers, capabilities, exit reasons, flags, errno
    // values.
    constants(checks, Ioctl.class, name -> name.equals("KVMIO"));
    for (Class<?> type :
        List.of(
            Kvm.class,
            KvmRegs.class,
            KvmSregs.class,
            KvmRun.class,
            KvmUserspaceMemoryRegion.class,
            KvmCpuid2.class,
            KvmDirtyLog.class,
            KvmDirtyRing.class,
            KvmEnableCap.class,
            KvmFpu.class)) {
      constants(checks, type, name -> name.startsWith("KVM_"));
    }
    constants(checks, Libc.class, name -> name.matches("(O|PROT|MAP|MADV|MFD|F)_.*"));
    constants(checks, Sigaction.class, name -> name.matches("S(A|IG)_.*|SIGRT(MIN|MAX)"));
    constants(checks, Errno.class, name -> name.startsWith("E"));

    // The name tables: each name must be a macro of the header with the index as its value.
    for (int reason = 0; !Kvm.exitName(reason).startsWith("exit reason"); reason++) {
      checks.add(new Check(Kvm.exitName(reason), reason));
    }
    for (int suberror = 1; !Kvm.internalErrorName(suberror).startsWith("suberror"); suberror++) {
      checks.add(new Check(Kvm.internalErrorName(suberror), suberror));
    }
    return checks;
  }

  /**
   * Adds {@code sizeof} of {@code layout} and {@code offsetof}/{@code sizeof} of each named member,
   * recursing into nested structs. A union named {@code exit} or {@code u} stands for C's anonymous
   * union: its members are named directly in C.
   */
  static void struct(List<Check> checks, String cType, GroupLayout layout) {
    checks.add(new Check("sizeof(" + cType + ")", layout.byteSize()));
    members(checks, cType, "", layout, new ArrayList<>(), layout);
  }

  private static void members(
      List<Check> checks,
      String cType,
      String cPrefix,
      GroupLayout group,
      List<PathElement> path,
      GroupLayout root) {
    for (MemoryLayout member : group.memberLayouts()) {
      if (member instanceof PaddingLayout || member.name().isEmpty()) {
        continue;
      }
      String name = member.name().get();
      List<PathElement> memberPath = new ArrayList<>(path);
      memberPath.add(PathElement.groupElement(name));
      PathElement[] elements = memberPath.toArray(PathElement[]::new);
      if (member instanceof UnionLayout union && Set.of("exit", "u").contains(name)) {
        members(checks, cType, cPrefix, union, memberPath, root);
        continue;
      }
      String cMember = cPrefix + name;
      checks.add(new Check("offsetof(" + cType + ", " + cMember + ")", root.byteOffset(elements)));
      checks.add(new Check("sizeof(((" + cType + " *) 0)->" + cMember + ")", member.byteSize()));
      if (member instanceof GroupLayout nested) {
        members(checks, cType, cMember + ".", nested, memberPath, root);
      }
    }
  }

  private static void constants(List<Check> checks, Class<?> type, Predicate<String> cName)
      throws IllegalAccessException {
    for (Field field : type.getFields()) {
      int modifiers = field.getModifiers();
      if (!Modifier.isStatic(modifiers)
          || !Modifier.isFinal(modifiers)
          || !cName.test(field.getName())) {
        continue;
      }
      long value =
          field.getType() == int.class
              ? field.getInt(null)
              : field.getType() == long.class ? field.getLong(null) : Long.MIN_VALUE;
      if (value == Long.MIN_VALUE) {
        continue;
      }
      checks.add(new Check(field.getName(), value));
    }
  }

  @Test
  void errnoNamesMatchTheirConstants() throws IllegalAccessException {
    for (Field field : Errno.class.getFields()) {
      if (field.getType() == int.class) {
        assertEquals(field.getName(), Errno.name(field.getInt(null)));
      }
    }
    assertEquals("errno 1234", Errno.name(1234));
  }

  @Test
  void ioctlNumbersMatchTheMachineFacts() {
    // Values measured with gcc on this machine (machine-facts.md), independent of the probe.
    assertEquals(0xAE80L, KvmRun.KVM_RUN);
    assertEquals(0x8090AE81L, KvmRegs.KVM_GET_REGS);
    assertEquals(0x4090AE82L, KvmRegs.KVM_SET_REGS);
    assertEquals(0x8138AE83L, KvmSregs.KVM_GET_SREGS);
    assertEquals(0x4138AE84L, KvmSregs.KVM_SET_SREGS);
    assertEquals(0x81A0AE8CL, KvmFpu.KVM_GET_FPU);
    assertEquals(0x41A0AE8DL, KvmFpu.KVM_SET_FPU);
    assertEquals(0x4020AE46L, KvmUserspaceMemoryRegion.KVM_SET_USER_MEMORY_REGION);
    assertEquals(2352, KvmRun.LAYOUT.byteSize());
    // The dirty ring's facts, measured the same way.
    assertEquals(0xAEC7L, KvmDirtyRing.KVM_RESET_DIRTY_RINGS);
    assertEquals(0x4068AEA3L, KvmEnableCap.KVM_ENABLE_CAP);
    assertEquals(16, KvmDirtyRing.LAYOUT.byteSize());
    assertEquals(64, KvmDirtyRing.KVM_DIRTY_LOG_PAGE_OFFSET);
    assertEquals(152, Sigaction.LAYOUT.byteSize());
  }

  static boolean onPath(String program) {
    String path = System.getenv().getOrDefault("PATH", "");
    return Stream.of(path.split(File.pathSeparator))
        .filter(s -> !s.isEmpty())
        .anyMatch(d -> Files.isExecutable(Path.of(d, program)));
  }

  static String run(List<String> command) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(60, TimeUnit.SECONDS), "timed out: " + command);
    assertEquals(0, process.exitValue(), () -> command + " failed:\n" + output);
    return output;
  }
}
