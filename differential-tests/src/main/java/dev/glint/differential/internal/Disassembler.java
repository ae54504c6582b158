package dev.glint.differential.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Disassembles case code with GNU {@code objdump} when it is installed, for mismatch reports. Only
 * a convenience: without objdump the report shows the bytes alone.
 */
public final class Disassembler {
  private Disassembler() {}

  /**
   * {@return the listing of {@code code} at {@code address}, one instruction a line, or empty if
   * objdump is missing or fails}
   */
  public static Optional<List<String>> disassemble(byte[] code, long address) {
    Path file = null;
    try {
      file = Files.createTempFile("glint-differential", ".bin");
      Files.write(file, code);
      Process process =
          new ProcessBuilder(
                  "objdump",
                  "-D",
                  "-b",
                  "binary",
                  "-m",
                  "i386:x86-64",
                  "-M",
                  "intel",
                  "--adjust-vma=0x" + Long.toHexString(address),
                  file.toString())
              .redirectErrorStream(true)
              .start();
      byte[] output = process.getInputStream().readAllBytes();
      if (!process.waitFor(10, TimeUnit.SECONDS) || process.exitValue() != 0) {
        return Optional.empty();
      }
      List<String> lines = new ArrayList<>();
      for (String line : new String(output, StandardCharsets.UTF_8).split("\n")) {
        // Instruction lines look like "   10000:\t48 01 d8             \tadd    rax,rbx".
        if (line.matches("\\s+[0-9a-f]+:\t.*")) {
          lines.add(line.strip().replace('\t', ' ').replaceAll(" {2,}", "  "));
        }
      }
      return Optional.of(lines);
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    } finally {
      if (file != null) {
        try {
          Files.deleteIfExists(file);
        } catch (IOException ignored) {
          // A temporary file left behind is harmless.
        }
      }
    }
  }
}
