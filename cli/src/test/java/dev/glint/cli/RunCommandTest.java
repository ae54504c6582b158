package dev.glint.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.guest.SampleGuests;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code glint run}: typed arguments checked against the guest's table, results, failures. */
class RunCommandTest {
  @TempDir Path folder;

  @BeforeEach
  void kvm() {
    Cli.requireKvm();
  }

  @Test
  void callsHelloAndPrintsWhatTheGuestPrintedThenTheResult() {
    Cli.Outcome outcome = Cli.run("run", "hello", "PrintOutput", "Hello, Glint!");
    assertEquals(0, outcome.code(), outcome::toString);
    assertEquals("Hello, Glint!\n13\n", outcome.out());
    assertEquals("", outcome.err());
    // Typed or bare: the same.
    assertEquals(outcome.out(), Cli.run("run", "hello", "PrintOutput", "str:Hello, Glint!").out());
  }

  @Test
  void theGuestsOutputCanGoToStandardError() {
    Cli.Outcome outcome = Cli.run("run", "--guest-output", "stderr", "hello", "PrintOutput", "hi");
    assertEquals(0, outcome.code(), outcome::toString);
    assertEquals("2\n", outcome.out());
    assertEquals("hi\n", outcome.err());
    assertEquals(
        "2\n", Cli.run("run", "--guest-output", "none", "hello", "PrintOutput", "hi").out());
  }

  @Test
  void withoutAFunctionListsTheGuestsFunctions() {
    Cli.Outcome outcome = Cli.run("run", "echo");
    assertEquals(0, outcome.code(), outcome::toString);
    assertTrue(
        outcome.out().startsWith("echo exports:\n  EchoI32(i32) -> i32\n"), outcome::toString);
    assertTrue(
        outcome.out().contains("  Concat(string, i32, bool, f64) -> string\n"), outcome::toString);
  }

  @Test
  void everyTypeRoundTripsThroughTheEchoGuest() {
    assertEcho("EchoI32", "i32:-2147483648", "-2147483648");
    assertEcho("EchoI32", "0x7fffffff", "2147483647");
    assertEcho("EchoU32", "u32:4294967295", "4294967295");
    assertEcho("EchoI64", "-0x10", "-16");
    assertEcho("EchoU64", "u64:18446744073709551615", "18446744073709551615");
    assertEcho("EchoF32", "f32:1.5", "1.5");
    assertEcho("EchoF64", "nan", "NaN");
    assertEcho("EchoF64", "f64:-inf", "-Infinity");
    assertEcho("EchoBool", "bool:true", "true");
    assertEcho("EchoString", "str:i32:5", "i32:5");
    assertEcho("EchoBytes", "bytes:hex:00ff10", "00ff10");
    assertEcho("EchoBytes", "bytes:base64:AP8Q", "00ff10");
    assertEcho("EchoBytes", "abc", "616263");
    Cli.Outcome concat = Cli.run("run", "echo", "Concat", "a", "-7", "true", "2.5");
    assertEquals("a|-7|true|2.500\n", concat.out(), concat::toString);
    // A value that looks like an option follows "--", as usual.
    Cli.Outcome dashed = Cli.run("run", "echo", "EchoString", "--", "--not-an-option");
    assertEquals("--not-an-option\n", dashed.out(), dashed::toString);
    Cli.Outcome none = Cli.run("run", "echo", "EchoVoid");
    assertEquals(0, none.code(), none::toString);
    assertEquals("", none.out());
  }

  private static void assertEcho(String function, String argument, String printed) {
    Cli.Outcome outcome = Cli.run("run", "echo", function, argument);
    assertEquals(0, outcome.code(), outcome::toString);
    assertEquals(printed + "\n", outcome.out(), outcome::toString);
  }

  @Test
  void bytesComeFromAFileAndGoToOne() throws Exception {
    byte[] data = new byte[100_000];
    for (int i = 0; i < data.length; i++) {
      data[i] = (byte) (i * 31 + 7);
    }
    Path input = Files.write(folder.resolve("data.bin"), data);
    String digest = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));

    Cli.Outcome outcome = Cli.run("run", "compute", "Sha256", "bytes:@" + input);
    assertEquals(0, outcome.code(), outcome::toString);
    assertEquals(digest + "\n", outcome.out());

    Path output = folder.resolve("digest.bin");
    Cli.Outcome toFile =
        Cli.run("run", "--out", output.toString(), "compute", "Sha256", "@" + input);
    assertEquals(0, toFile.code(), toFile::toString);
    assertEquals("", toFile.out());
    assertTrue(toFile.err().contains("wrote 32 bytes to " + output), toFile::toString);
    assertArrayEquals(HexFormat.of().parseHex(digest), Files.readAllBytes(output));
  }

  @Test
  void aGuestFileRunsLikeASampleAndAFileThatIsNoGuestFails() throws Exception {
    Path elf = Files.write(folder.resolve("my-compute.elf"), SampleGuests.load("compute"));
    Cli.Outcome outcome = Cli.run("run", "--level", "kernel", elf.toString(), "Add", "2", "i32:3");
    assertEquals(0, outcome.code(), outcome::toString);
    assertEquals("5\n", outcome.out());

    Path text =
        Files.writeString(folder.resolve("notes.txt"), "not an ELF", StandardCharsets.UTF_8);
    Cli.Outcome bad = Cli.run("run", text.toString(), "Add", "2", "3");
    assertEquals(1, bad.code(), bad::toString);
    assertTrue(bad.err().contains("is not a Glint guest"), bad::toString);
  }

  @Test
  void argumentsAreCheckedAgainstTheGuestsSignature() {
    Cli.Outcome type = Cli.run("run", "hello", "PrintOutput", "i32:5");
    assertEquals(2, type.code(), type::toString);
    assertTrue(
        type.err()
            .contains(
                "argument 1 of PrintOutput(string) -> i32 is a string, but 'i32:5' is an i32;"
                    + " write str:VALUE, or the value alone"),
        type::toString);

    Cli.Outcome count = Cli.run("run", "compute", "Add", "1");
    assertEquals(2, count.code(), count::toString);
    assertTrue(
        count
            .err()
            .contains(
                "Add(i32, i32) -> i32 takes 2 arguments, but 1 argument was given;"
                    + " write them as i32:VALUE i32:VALUE"),
        count::toString);

    Cli.Outcome range = Cli.run("run", "echo", "EchoI32", "2147483648");
    assertEquals(2, range.code(), range::toString);
    assertTrue(
        range.err().contains("'2147483648' is not an i32 (-2147483648 to 2147483647)"),
        range::toString);

    Cli.Outcome bool = Cli.run("run", "echo", "EchoBool", "yes");
    assertEquals(2, bool.code(), bool::toString);
    assertTrue(bool.err().contains("write true or false"), bool::toString);
  }

  @Test
  void anUnknownFunctionOrGuestIsAUsageError() {
    Cli.Outcome function = Cli.run("run", "hello", "printoutput", "x");
    assertEquals(2, function.code(), function::toString);
    assertTrue(
        function
            .err()
            .contains("hello exports no function 'printoutput'. Did you mean PrintOutput?"),
        function::toString);
    assertTrue(function.err().contains("  PrintOutput(string) -> i32"), function::toString);

    Cli.Outcome guest = Cli.run("run", "no-such-guest", "F");
    assertEquals(2, guest.code(), guest::toString);
    assertTrue(
        guest.err().contains("GUEST 'no-such-guest' is neither a file nor a sample guest (hello,"),
        guest::toString);
  }

  @Test
  void aFaultIsAFailureWithTheFaultReport() {
    Cli.Outcome outcome = Cli.run("run", "faults", "NullDeref");
    assertEquals(1, outcome.code(), outcome::toString);
    assertEquals("", outcome.out());
    assertTrue(outcome.err().startsWith("glint run: the guest faulted"), outcome::toString);
    assertTrue(outcome.err().contains("#PF (page fault)"), outcome::toString);
    assertTrue(outcome.err().contains("address 0x0"), outcome::toString);
    assertTrue(outcome.err().contains("(vector 14)"), outcome::toString);
    assertTrue(outcome.err().matches("(?s).*RIP 0x[0-9a-f]+.*"), outcome::toString);
  }

  @Test
  void aTimeoutStopsTheCall() {
    long start = System.nanoTime();
    Cli.Outcome outcome = Cli.run("run", "--timeout", "100ms", "faults", "InfiniteLoop");
    long millis = (System.nanoTime() - start) / 1_000_000;
    assertEquals(1, outcome.code(), outcome::toString);
    assertTrue(outcome.err().contains("timeout of 100 ms"), outcome::toString);
    assertTrue(millis < 5_000, "took " + millis + " ms");
  }

  @Test
  void aGuestErrorIsAFailureWithItsMessage() {
    Cli.Outcome outcome = Cli.run("run", "echo", "Fail", "7", "it went wrong");
    assertEquals(1, outcome.code(), outcome::toString);
    assertTrue(outcome.err().contains("it went wrong"), outcome::toString);
  }
}
