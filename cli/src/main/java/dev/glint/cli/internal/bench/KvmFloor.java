package dev.glint.cli.internal.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The C floor: the benchmarks' {@code kvm_floor.c} (plain KVM ioctls, no abstraction), compiled
 * when this module is built and shipped in its jar. It is copied to a temporary file to run, and
 * its lines {@code NAME n=.. median_ns=.. p10_ns=.. p90_ns=..} are read into medians.
 *
 * <ul>
 *   <li>{@code lifecycle N}: {@code create_to_hlt} (create VM + 8 MiB + vCPU, run to HLT) and
 *       {@code close}
 *   <li>{@code exit3 N} / {@code exit0 N}: one {@code out} exit round trip at CPL 3 / CPL 0
 * </ul>
 */
public final class KvmFloor implements AutoCloseable {
  private static final String RESOURCE = "kvm_floor";

  private final Path folder;
  private final Path executable;

  private KvmFloor(Path folder, Path executable) {
    this.folder = folder;
    this.executable = executable;
  }

  /**
   * Copies the floor program out of the jar into a private temporary folder.
   *
   * @return the floor, ready to run; close it to delete the copy
   * @throws IOException if it is not in the jar (the build could not compile it) or cannot be
   *     written or made executable
   */
  public static KvmFloor extract() throws IOException {
    try (InputStream in = KvmFloor.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IOException("the C floor program is not in the glint-cli jar");
      }
      Path folder =
          Files.createTempDirectory(
              "glint-floor-",
              PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      Path executable = folder.resolve(RESOURCE);
      Files.copy(in, executable, StandardCopyOption.REPLACE_EXISTING);
      Files.setPosixFilePermissions(executable, PosixFilePermissions.fromString("rwx------"));
      return new KvmFloor(folder, executable);
    }
  }

  /**
   * Runs the floor in {@code mode} for {@code count} samples.
   *
   * @param mode "lifecycle", "exit3" or "exit0"
   * @param count the samples to take, after a tenth as many to warm up
   * @return the median nanoseconds of each measurement it printed, by name
   * @throws IOException if it cannot run, fails, or prints no measurement
   * @throws InterruptedException if interrupted while it runs
   */
  public Map<String, Long> medians(String mode, int count)
      throws IOException, InterruptedException {
    List<String> command = List.of(executable.toString(), mode, Integer.toString(count));
    Process process;
    try {
      process = new ProcessBuilder(command).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new IOException("cannot run the C floor (" + e.getMessage() + ")", e);
    }
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(5, TimeUnit.MINUTES) || process.exitValue() != 0) {
      process.destroyForcibly();
      throw new IOException("the C floor failed: " + output.strip());
    }
    Map<String, Long> medians = new HashMap<>();
    for (String line : output.split("\n")) {
      String[] fields = line.strip().split(" ");
      for (String field : fields) {
        if (field.startsWith("median_ns=")) {
          medians.put(fields[0], Long.parseLong(field.substring("median_ns=".length())));
        }
      }
    }
    if (medians.isEmpty()) {
      throw new IOException("the C floor printed no measurement: " + output.strip());
    }
    return medians;
  }

  /** Deletes the temporary copy. */
  @Override
  public void close() throws IOException {
    List<Path> paths = new ArrayList<>(List.of(executable, folder));
    for (Path path : paths) {
      Files.deleteIfExists(path);
    }
  }
}
