package dev.glint.benchmarks;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A C floor program shipped with the benchmarks: compiled with gcc into a temporary folder at first
 * use, then run with arguments; its output lines {@code name n=.. median_ns=.. p10_ns=.. p90_ns=..}
 * are parsed into medians.
 */
final class CFloor {
  private final Path executable;

  private CFloor(Path executable) {
    this.executable = executable;
  }

  /**
   * Compiles {@code dev/glint/benchmarks/c/<name>.c} from the class path with {@code gcc -O2}.
   *
   * @throws IOException if gcc is missing or the compilation fails (the message has gcc's output)
   */
  static CFloor compile(String name) throws IOException, InterruptedException {
    Path folder = Files.createTempDirectory("glint-floor-");
    folder.toFile().deleteOnExit();
    Path source = folder.resolve(name + ".c");
    try (InputStream in = CFloor.class.getResourceAsStream("c/" + name + ".c")) {
      if (in == null) {
        throw new IOException("C floor source c/" + name + ".c is not on the class path");
      }
      Files.copy(in, source);
    }
    Path executable = folder.resolve(name);
    String output =
        run(List.of("gcc", "-O2", "-Wall", "-o", executable.toString(), source.toString()));
    if (!Files.isExecutable(executable)) {
      throw new IOException("gcc did not build " + name + ":\n" + output);
    }
    source.toFile().deleteOnExit();
    executable.toFile().deleteOnExit();
    return new CFloor(executable);
  }

  /** {@return the median nanoseconds of each measurement the program printed for these args} */
  Map<String, Long> medians(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(executable.toString());
    command.addAll(List.of(args));
    Map<String, Long> medians = new HashMap<>();
    for (String line : run(command).split("\n")) {
      String[] fields = line.strip().split(" ");
      for (String field : fields) {
        if (field.startsWith("median_ns=")) {
          medians.put(fields[0], Long.parseLong(field.substring("median_ns=".length())));
        }
      }
    }
    if (medians.isEmpty()) {
      throw new IOException(executable + " printed no measurement for " + List.of(args));
    }
    return medians;
  }

  private static String run(List<String> command) throws IOException, InterruptedException {
    Process process;
    try {
      process = new ProcessBuilder(command).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new IOException(
          "cannot run " + command.getFirst() + " (the C floors need gcc on the PATH)", e);
    }
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(5, TimeUnit.MINUTES) || process.exitValue() != 0) {
      process.destroyForcibly();
      throw new IOException(command + " failed:\n" + output);
    }
    return output;
  }
}
