package dev.glint.cli.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import picocli.CommandLine;

/** The {@code --version} text: Glint's version (from the build), the JVM and the OS. */
final class Version implements CommandLine.IVersionProvider {

  /** Creates the provider; picocli calls it. */
  Version() {}

  /** {@return Glint's version, such as "0.1.0-SNAPSHOT"} */
  static String glint() {
    try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
      if (in == null) {
        return "unknown";
      }
      Properties properties = new Properties();
      properties.load(in);
      return properties.getProperty("version", "unknown");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public String[] getVersion() {
    return new String[] {
      "glint " + glint(),
      "JVM: %s (%s %s)"
          .formatted(
              Runtime.version(),
              System.getProperty("java.vm.vendor", "?"),
              System.getProperty("java.vm.name", "?")),
      "OS: %s %s %s"
          .formatted(
              System.getProperty("os.name"),
              System.getProperty("os.version"),
              System.getProperty("os.arch"))
    };
  }
}
