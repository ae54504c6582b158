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
    return compile(name, name, List.of("-O2"), List.of());
  }

  /**
   * Compiles {@code dev/glint/benchmarks/c/<name>.c} together with other C files from the class
   * path into an executable called {@code variant}, with the given gcc flags.
   *
   * @param name the main source file, without {@code .c}
   * @param variant the executable's name, so several builds of one source can live side by side
   * @param flags gcc's code-generation and define flags (for example {@code -O2})
   * @param companions further files under {@code dev/glint/benchmarks/c/}, copied with their
   *     relative paths; those ending in {@code .c} are compiled and linked in, and every folder
   *     holding one of them is on the include path
   * @throws IOException if gcc is missing or the compilation fails (the message has gcc's output)
   */
  static CFloor compile(String name, String variant, List<String> flags, List<String> companions)
      throws IOException, InterruptedException {
    Path folder = Files.createTempDirectory("glint-floor-");
    folder.toFile().deleteOnExit();
    Path source = copyResource(folder, name + ".c");
    List<String> command = new ArrayList<>(List.of("gcc"));
    command.addAll(flags);
    command.add("-Wall");
    List<Path> copies = new ArrayList<>();
    for (String companion : companions) {
      Path copy = copyResource(folder, companion);
      copies.add(copy);
      String include = "-I" + copy.getParent();
      if (!command.contains(include)) {
        command.add(include);
      }
    }
    Path executable = folder.resolve(variant);
    command.addAll(List.of("-o", executable.toString(), source.toString()));
    for (Path copy : copies) {
      if (copy.toString().endsWith(".c")) {
        command.add(copy.toString());
      }
    }
    String output = run(command);
    if (!Files.isExecutable(executable)) {
      throw new IOException("gcc did not build " + variant + ":\n" + output);
    }
    source.toFile().deleteOnExit();
    copies.forEach(copy -> copy.toFile().deleteOnExit());
    executable.toFile().deleteOnExit();
    return new CFloor(executable);
  }

  private static Path copyResource(Path folder, String file) throws IOException {
    Path target = folder.resolve(file);
    Files.createDirectories(target.getParent());
    target.getParent().toFile().deleteOnExit();
    try (InputStream in = CFloor.class.getResourceAsStream("c/" + file)) {
      if (in == null) {
        throw new IOException("C floor file c/" + file + " is not on the class path");
      }
      Files.copy(in, target);
    }
    return target;
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
