package dev.glint.hv.mshv;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.glint.hv.mshv.internal.sys.Errno;
import dev.glint.hv.mshv.internal.sys.HvMessage;
import dev.glint.hv.mshv.internal.sys.HvRegisters;
import dev.glint.hv.mshv.internal.sys.Ioctl;
import dev.glint.hv.mshv.internal.sys.Libc;
import dev.glint.hv.mshv.internal.sys.Mshv;
import dev.glint.hv.mshv.internal.sys.Sigaction;
import java.io.File;
import java.io.IOException;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.PaddingLayout;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proves the hand-written mshv layouts and constants against the documented ABI: writes a C program
 * that includes the test double's header {@code src/test/c/mshv_abi.h} (written from Linux 6.15's
 * {@code include/uapi/linux/mshv.h} and {@code include/hyperv/hvgdk_mini.h}/{@code hvhdk.h}, see
 * docs/mshv-backend.md) and glibc's {@code <signal.h>}, {@code <fcntl.h>}, {@code <sys/mman.h>},
 * prints {@code sizeof}, {@code offsetof} and the value of every member, ioctl number and constant
 * the Java side uses, compiles it with gcc, runs it and compares each value (one failure per
 * mismatch, naming the C expression). Skipped only when gcc is absent.
 */
class MshvLayoutTest {

  /** One value to compare: a C expression and what Java says it is. */
  record Check(String c, long java) {}

  /** The double's header; the build names it, since surefire may run in another folder. */
  private static final Path HEADER =
      Path.of(System.getProperty("glint.hv.mshv.abiHeader", "src/test/c/mshv_abi.h"));

  @TempDir Path dir;

  @Test
  void layoutsAndConstantsMatchTheDocumentedHeader() throws Exception {
    assumeTrue(onPath("gcc"), "gcc is not on the PATH; cannot compile the layout probe");
    List<Check> checks = checks();
    assertTrue(checks.size() > 200, "expected a thorough probe, got " + checks.size() + " checks");

    StringBuilder c = new StringBuilder();
    c.append("#define _GNU_SOURCE\n")
        .append("#include <stddef.h>\n#include <stdio.h>\n#include <errno.h>\n#include <fcntl.h>\n")
        .append("#include <signal.h>\n#include <sys/mman.h>\n")
        .append("#include \"")
        .append(HEADER.toAbsolutePath())
        .append("\"\n\nint main(void) {\n");
    for (int i = 0; i < checks.size(); i++) {
      c.append("  printf(\"%d %llu\\n\", ")
          .append(i)
          .append(", (unsigned long long) (")
          .append(checks.get(i).c())
          .append("));\n");
    }
    c.append("  return 0;\n}\n");
    Path source = dir.resolve("mshv_layout.c");
    Path binary = dir.resolve("mshv_layout");
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
    struct(checks, "struct mshv_create_partition", Mshv.CREATE_PARTITION);
    struct(checks, "struct mshv_create_vp", Mshv.CREATE_VP);
    struct(checks, "struct mshv_user_mem_region", Mshv.USER_MEM_REGION);
    struct(checks, "struct mshv_root_hvcall", Mshv.ROOT_HVCALL);
    struct(checks, "struct mshv_run_vp", Mshv.RUN_VP);
    struct(checks, "struct hv_u128", HvRegisters.U128);
    struct(checks, "struct hv_x64_segment_register", HvRegisters.SEGMENT);
    struct(checks, "struct hv_x64_table_register", HvRegisters.TABLE);
    struct(checks, "union hv_register_value", HvRegisters.VALUE);
    struct(checks, "struct hv_register_assoc", HvRegisters.ASSOC);
    struct(checks, "struct hv_input_get_vp_registers", HvRegisters.INPUT_HEADER);
    checks.add(
        new Check(
            "offsetof(struct hv_input_get_vp_registers, names)",
            HvRegisters.INPUT_HEADER.byteSize()));
    checks.add(
        new Check(
            "offsetof(struct hv_input_set_vp_registers, elements)",
            HvRegisters.INPUT_HEADER.byteSize()));
    struct(checks, "struct hv_message_header", HvMessage.HEADER);
    struct(checks, "struct hv_message", HvMessage.MESSAGE);
    struct(checks, "struct hv_x64_intercept_message_header", HvMessage.INTERCEPT_HEADER);
    struct(checks, "struct hv_x64_memory_intercept_message", HvMessage.MEMORY_INTERCEPT);
    struct(checks, "struct hv_x64_io_port_intercept_message", HvMessage.IO_PORT_INTERCEPT);
    checks.add(new Check("offsetof(struct hv_message, payload)", HvMessage.PAYLOAD));
    struct(checks, "struct sigaction", Sigaction.LAYOUT);

    constants(checks, Ioctl.class, name -> name.equals("MSHV_IOCTL"));
    constants(checks, Mshv.class, name -> name.startsWith("MSHV_"));
    constants(checks, HvRegisters.class, name -> name.matches("HV(CALL|_STATUS|_X64|_SEGMENT)_.*"));
    constants(checks, HvMessage.class, name -> name.matches("HV(MSG|_)_?.*"));
    constants(checks, Libc.class, name -> name.matches("(O|PROT|MAP|MADV|MFD|F)_.*"));
    constants(checks, Sigaction.class, name -> name.matches("S(A|IG)_.*|SIGRT(MIN|MAX)"));
    constants(checks, Errno.class, name -> name.startsWith("E"));
    return checks;
  }

  /** Adds {@code sizeof} of {@code layout} and {@code offsetof}/{@code sizeof} of each member. */
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
      String cMember = cPrefix + name;
      checks.add(
          new Check(
              "offsetof(" + cType + ", " + cMember + ")",
              root.byteOffset(memberPath.toArray(PathElement[]::new))));
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
      // C's message types are unsigned: compare ints as their unsigned 32-bit value.
      long value =
          field.getType() == int.class
              ? Integer.toUnsignedLong(field.getInt(null))
              : field.getType() == long.class ? field.getLong(null) : Long.MIN_VALUE;
      if (value == Long.MIN_VALUE) {
        continue;
      }
      checks.add(new Check(field.getName(), value));
    }
  }

  @Test
  void ioctlNumbersMatchTheKernelEncoding() {
    // _IOW/_IOR/_IOWR(0xB8, nr, size) as asm-generic/ioctl.h encodes them, worked out by hand.
    assertEquals(0x4010B800L, Mshv.MSHV_CREATE_PARTITION);
    assertEquals(0xB800L, Mshv.MSHV_INITIALIZE_PARTITION);
    assertEquals(0x4004B801L, Mshv.MSHV_CREATE_VP);
    assertEquals(0x4020B802L, Mshv.MSHV_SET_GUEST_MEMORY);
    assertEquals(0xC020B807L, Mshv.MSHV_ROOT_HVCALL);
    assertEquals(0x8100B800L, Mshv.MSHV_RUN_VP);
    assertEquals(256, HvMessage.MESSAGE.byteSize());
    assertEquals(Mshv.MSHV_RUN_VP_BUF_SZ, Mshv.RUN_VP.byteSize());
    assertEquals(16, HvRegisters.VALUE.byteSize());
    assertEquals(32, HvRegisters.ASSOC.byteSize());
  }

  @Test
  void errnoNamesMatchTheirConstants() throws IllegalAccessException {
    for (Field field : Errno.class.getFields()) {
      if (field.getType() == int.class) {
        assertEquals(field.getName(), Errno.name(field.getInt(null)));
      }
    }
  }

  @Test
  void statusAndMessageNamesMatchTheirConstants() throws IllegalAccessException {
    for (Field field : HvRegisters.class.getFields()) {
      if (field.getName().startsWith("HV_STATUS_")) {
        assertEquals(field.getName(), HvRegisters.statusName(field.getInt(null)));
      }
    }
    for (Field field : HvMessage.class.getFields()) {
      if (field.getName().startsWith("HVMSG_")) {
        assertEquals(field.getName(), HvMessage.typeName(field.getInt(null)));
      }
    }
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
