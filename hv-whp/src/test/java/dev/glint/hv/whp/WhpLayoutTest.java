package dev.glint.hv.whp;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.glint.hv.whp.internal.sys.HResult;
import dev.glint.hv.whp.internal.sys.HostMemory;
import dev.glint.hv.whp.internal.sys.WhvConstants;
import dev.glint.hv.whp.internal.sys.WhvRegisterValue;
import dev.glint.hv.whp.internal.sys.WhvRunVpExitContext;
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
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proves the hand-written WHP layouts and constants against the documented definitions: writes a C
 * program that includes {@code whp_abi.h} (the double's header, written from Microsoft's
 * documentation, whose {@code _Static_assert}s also hold the documented sizes) and {@code
 * <sys/mman.h>}, prints {@code sizeof}, {@code offsetof} and every constant the Java side uses,
 * compiles it with gcc, runs it and compares each value, one failure per mismatch naming the C
 * expression. Skipped only when gcc is absent.
 */
class WhpLayoutTest {

  /** One value to compare: a C expression and what Java says it is. */
  record Check(String c, long java) {}

  @TempDir Path dir;

  static Path header() {
    return Path.of(System.getProperty("glint.test.whp.abiHeader", "src/test/c/whp_abi.h"))
        .toAbsolutePath();
  }

  @Test
  void layoutsAndConstantsMatchTheDocumentedHeader() throws Exception {
    assumeTrue(onPath("gcc"), "gcc is not on the PATH; cannot compile the layout probe");
    List<Check> checks = checks();
    assertTrue(checks.size() > 200, "expected a thorough probe, got " + checks.size() + " checks");

    StringBuilder c = new StringBuilder();
    c.append("#include <stddef.h>\n#include <stdio.h>\n#include <sys/mman.h>\n")
        .append("#include \"")
        .append(header())
        .append("\"\n\nint main(void) {\n");
    for (int i = 0; i < checks.size(); i++) {
      c.append("  printf(\"%d %llu\\n\", ")
          .append(i)
          .append(", (unsigned long long) (")
          .append(checks.get(i).c())
          .append("));\n");
    }
    c.append("  return 0;\n}\n");
    Path source = dir.resolve("whp_layout.c");
    Path binary = dir.resolve("whp_layout");
    Files.writeString(source, c);
    String compiled =
        run(List.of("gcc", "-std=gnu11", "-Wall", "-o", binary.toString(), source.toString()));
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
    struct(checks, "WHV_X64_SEGMENT_REGISTER", WhvRegisterValue.SEGMENT);
    struct(checks, "WHV_X64_TABLE_REGISTER", WhvRegisterValue.TABLE);
    struct(checks, "WHV_X64_FP_CONTROL_STATUS_REGISTER", WhvRegisterValue.FP_CONTROL_STATUS);
    struct(checks, "WHV_X64_XMM_CONTROL_STATUS_REGISTER", WhvRegisterValue.XMM_CONTROL_STATUS);
    struct(checks, "WHV_REGISTER_VALUE", WhvRegisterValue.LAYOUT);
    checks.add(new Check("_Alignof(WHV_REGISTER_VALUE)", WhvRegisterValue.LAYOUT.byteAlignment()));
    checks.add(new Check("sizeof(WHV_REGISTER_VALUE)", WhvRegisterValue.BYTES));
    struct(checks, "WHV_VP_EXIT_CONTEXT", WhvRunVpExitContext.VP_CONTEXT);
    struct(checks, "WHV_MEMORY_ACCESS_CONTEXT", WhvRunVpExitContext.MEMORY_ACCESS);
    struct(checks, "WHV_X64_IO_PORT_ACCESS_CONTEXT", WhvRunVpExitContext.IO_PORT_ACCESS);
    struct(checks, "WHV_X64_UNSUPPORTED_FEATURE_CONTEXT", WhvRunVpExitContext.UNSUPPORTED_FEATURE);
    struct(checks, "WHV_RUN_VP_CANCELED_CONTEXT", WhvRunVpExitContext.CANCELED);
    struct(checks, "WHV_RUN_VP_EXIT_CONTEXT", WhvRunVpExitContext.LAYOUT);
    checks.add(new Check("sizeof(WHV_RUN_VP_EXIT_CONTEXT)", 224));

    constants(checks, WhvConstants.class);
    constants(checks, WhvRegisterValue.class);
    for (Map.Entry<String, Integer> entry : HResult.table().entrySet()) {
      checks.add(new Check(entry.getKey(), entry.getValue()));
    }
    // The POSIX half of HostMemory (the Windows half, MEM_* and PAGE_READWRITE from winnt.h, has
    // no Linux header: docs/whp-backend.md gives its source).
    for (String name :
        List.of("PROT_READ", "PROT_WRITE", "MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_NORESERVE")) {
      try {
        checks.add(new Check(name, HostMemory.class.getField(name).getInt(null)));
      } catch (NoSuchFieldException e) {
        throw new AssertionError(e);
      }
    }
    // Register names in encoding order: the decoder's register numbers map onto them.
    String[] gprs = {
      "Rax", "Rcx", "Rdx", "Rbx", "Rsp", "Rbp", "Rsi", "Rdi", "R8", "R9", "R10", "R11", "R12",
      "R13", "R14", "R15"
    };
    for (int i = 0; i < gprs.length; i++) {
      checks.add(new Check("WHvX64Register" + gprs[i], WhvConstants.gprName(i)));
    }
    return checks;
  }

  /**
   * Adds {@code sizeof} of {@code layout} and {@code offsetof}/{@code sizeof} of each named member,
   * recursing into nested groups. A group named {@code u} stands for C's anonymous union.
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
      if (member instanceof GroupLayout union && name.equals("u")) {
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

  private static void constants(List<Check> checks, Class<?> type) throws IllegalAccessException {
    for (Field field : type.getFields()) {
      int modifiers = field.getModifiers();
      if (!Modifier.isStatic(modifiers) || !Modifier.isFinal(modifiers)) {
        continue;
      }
      if (field.getType() == int.class) {
        checks.add(new Check(field.getName(), field.getInt(null)));
      } else if (field.getType() == long.class && !field.getName().equals("BYTES")) {
        checks.add(new Check(field.getName(), field.getLong(null)));
      }
    }
  }

  @Test
  void hresultNamesAreTheDocumentedOnesAndUnknownCodesShowTheirValue() {
    assertEquals("WHV_E_GPA_RANGE_NOT_FOUND", HResult.name(HResult.WHV_E_GPA_RANGE_NOT_FOUND));
    assertEquals("E_INVALIDARG", HResult.name(0x80070057));
    assertEquals("HRESULT 0x8BADF00D", HResult.name(0x8BADF00D));
    assertTrue(HResult.succeeded(HResult.S_OK));
    assertTrue(!HResult.succeeded(HResult.E_FAIL));
  }

  @Test
  void documentedSizesHoldInJava() {
    assertEquals(224, WhvRunVpExitContext.LAYOUT.byteSize());
    assertEquals(40, WhvRunVpExitContext.VP_CONTEXT.byteSize());
    assertEquals(40, WhvRunVpExitContext.MEMORY_ACCESS.byteSize());
    assertEquals(96, WhvRunVpExitContext.IO_PORT_ACCESS.byteSize());
    assertEquals(16, WhvRegisterValue.LAYOUT.byteSize());
    assertEquals(16, WhvRegisterValue.LAYOUT.byteAlignment());
    assertEquals(16, WhvRegisterValue.SEGMENT.byteSize());
    assertEquals(16, WhvRegisterValue.TABLE.byteSize());
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
