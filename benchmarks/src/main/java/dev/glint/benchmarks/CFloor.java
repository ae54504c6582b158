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
 * A C floor program shipped with the benchmarks: compiled with gcc (or, through {@link #build},
 * another driver) into a temporary folder at first use, then run with arguments; its output lines
 * {@code name n=.. median_ns=.. p10_ns=.. p90_ns=..} are parsed into medians.
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
    Path executable = build("gcc", name, variant, flags, companions);
    if (!Files.isExecutable(executable)) {
      throw new IOException("gcc did not build an executable " + variant);
    }
    return new CFloor(executable);
  }

  /** {@return the compiled executable} */
  Path executable() {
    return executable;
  }

  /** {@return a C floor for an executable built some other way} */
  static CFloor of(Path executable) {
    return new CFloor(executable);
  }

  /**
   * Builds {@code dev/glint/benchmarks/c/<name>} (a {@code .c} or {@code .S} file; the name here
   * includes the extension) from the class path with a C compiler driver, into a new temporary
   * folder: an executable, an object file or a WebAssembly module, as the flags say.
   *
   * @param compiler the driver, {@code gcc} or {@code clang}, looked up on the PATH
   * @param name the main source file, with its extension
   * @param output the output file's name
   * @param flags the driver's flags
   * @param companions further files under {@code dev/glint/benchmarks/c/}, copied with their
   *     relative paths; those ending in {@code .c} are compiled and linked in, and every folder
   *     holding one of them is on the include path
   * @return the output file
   * @throws IOException if the driver is missing or the build fails (the message has its output)
   */
  static Path build(
      String compiler, String name, String output, List<String> flags, List<String> companions)
      throws IOException, InterruptedException {
    Path folder = Files.createTempDirectory("glint-floor-");
    folder.toFile().deleteOnExit();
    Path source = copyResource(folder, name.contains(".") ? name : name + ".c");
    List<String> command = new ArrayList<>(List.of(compiler));
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
    Path built = folder.resolve(output);
    command.addAll(List.of("-o", built.toString(), source.toString()));
    for (Path copy : copies) {
      if (copy.toString().endsWith(".c")) {
        command.add(copy.toString());
      }
    }
    String log = run(command);
    if (!Files.isRegularFile(built)) {
      throw new IOException(compiler + " did not build " + output + ":\n" + log);
    }
    source.toFile().deleteOnExit();
    copies.forEach(copy -> copy.toFile().deleteOnExit());
    built.toFile().deleteOnExit();
    return built;
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
    Map<String, Long> medians = new HashMap<>();
    fields(args)
        .forEach(
            (name, fields) -> {
              if (fields.containsKey("median_ns")) {
                medians.put(name, Long.parseLong(fields.get("median_ns")));
              }
            });
    if (medians.isEmpty()) {
      throw new IOException(executable + " printed no measurement for " + List.of(args));
    }
    return medians;
  }

  /**
   * {@return the {@code key=value} fields of each line the program printed for these args}, by the
   * line's first word (the measurement's name)
   */
  Map<String, Map<String, String>> fields(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(executable.toString());
    command.addAll(List.of(args));
    Map<String, Map<String, String>> lines = new HashMap<>();
    for (String line : run(command).split("\n")) {
      String[] words = line.strip().split(" ");
      Map<String, String> fields = new HashMap<>();
      for (String word : words) {
        int equals = word.indexOf('=');
        if (equals > 0) {
          fields.put(word.substring(0, equals), word.substring(equals + 1));
        }
      }
      if (!fields.isEmpty()) {
        lines.put(words[0], fields);
      }
    }
    return lines;
  }

  /**
   * Runs a command to its end and {@return its output, stdout and stderr together}.
   *
   * @throws IOException if it cannot start, fails, or runs longer than five minutes
   */
  static String run(List<String> command) throws IOException, InterruptedException {
    Process process;
    try {
      process = new ProcessBuilder(command).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new IOException(
          "cannot run " + command.getFirst() + " (is it installed and on the PATH?)", e);
    }
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(5, TimeUnit.MINUTES) || process.exitValue() != 0) {
      process.destroyForcibly();
      throw new IOException(command + " failed:\n" + output);
    }
    return output;
  }
}
