package dev.glint.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaMethodCall;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The architecture rules of {@code shared/design.md}, checked over the production classes of every
 * module on this module's class path. A break fails the build.
 */
class ArchitectureRulesTest {

  /** Where native code may live: the {@code internal.sys} package of a backend module. */
  private static final String NATIVE_PACKAGES = "dev.glint.hv.*.internal.sys..";

  /**
   * Restricted FFM and JNI methods, as "owner#name"; callable only from {@link #NATIVE_PACKAGES}.
   */
  private static final Set<String> RESTRICTED_METHODS =
      Set.of(
          "java.lang.foreign.MemorySegment#reinterpret",
          "java.lang.foreign.AddressLayout#withTargetLayout",
          "java.lang.foreign.SymbolLookup#libraryLookup",
          "java.lang.foreign.Linker#downcallHandle",
          "java.lang.foreign.Linker#upcallStub",
          "java.lang.Module#enableNativeAccess",
          "java.lang.ModuleLayer$Controller#enableNativeAccess",
          "java.lang.System#load",
          "java.lang.System#loadLibrary",
          "java.lang.Runtime#load",
          "java.lang.Runtime#loadLibrary");

  private static JavaClasses glint;

  @BeforeAll
  static void importClasses() {
    glint =
        new ClassFileImporter()
            // The other modules arrive as jars in the reactor: import them, tests excluded.
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.glint");
  }

  @Test
  void foundTheModulesItChecks() {
    // A rule over an empty import passes vacuously: make sure the backend and the SPI are here.
    org.junit.jupiter.api.Assertions.assertTrue(
        glint.contain("dev.glint.hv.Hypervisor"), "hv-api classes not imported");
    org.junit.jupiter.api.Assertions.assertTrue(
        glint.contain("dev.glint.hv.kvm.internal.KvmHypervisorProvider"),
        "hv-kvm classes not imported");
    org.junit.jupiter.api.Assertions.assertTrue(
        glint.contain("dev.glint.hv.whp.internal.WhpHypervisorProvider"),
        "hv-whp classes not imported");
    org.junit.jupiter.api.Assertions.assertTrue(
        glint.contain("dev.glint.hv.mshv.internal.MshvHypervisorProvider"),
        "hv-mshv classes not imported");
    org.junit.jupiter.api.Assertions.assertTrue(
        glint.contain("dev.glint.x86.decoder.Decoder"), "x86-decoder classes not imported");
    org.junit.jupiter.api.Assertions.assertTrue(
        glint.contain("dev.glint.hv.emulated.internal.EmulatedHypervisorProvider"),
        "hv-emulated classes not imported");
    org.junit.jupiter.api.Assertions.assertTrue(
        glint.contain("dev.glint.sandbox.Sandbox"), "sandbox classes not imported");
    org.junit.jupiter.api.Assertions.assertTrue(
        glint.contain("dev.glint.demo.DemoServer"), "demo classes not imported");
    org.junit.jupiter.api.Assertions.assertTrue(
        glint.contain("dev.glint.cli.GlintCli"), "cli classes not imported");
    org.junit.jupiter.api.Assertions.assertTrue(
        glint.contain("dev.glint.differential.DifferentialTester"),
        "differential-tests classes not imported");
  }

  @Test
  void theDifferentialTestsReachBackendsThroughTheSpiOnly() {
    classes()
        .that()
        .resideInAPackage("dev.glint.differential..")
        .should()
        .onlyDependOnClassesThat()
        .resideInAnyPackage(
            "dev.glint.differential..",
            "dev.glint.hv",
            "dev.glint.hv.spi",
            "dev.glint.hv.x86",
            "dev.glint.x86.decoder",
            "java..")
        .because(
            "the differential tests compare backends as any user sees them: found through"
                + " ServiceLoader, driven through the SPI (design.md)")
        .check(glint);
    noClasses()
        .that()
        .resideOutsideOfPackage("dev.glint.differential..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("dev.glint.differential..")
        .because("the differential tests are a test harness nothing else depends on")
        .check(glint);
  }

  /** The applications: the demo server and the command line. */
  private static final String[] APPLICATIONS = {"dev.glint.demo..", "dev.glint.cli.."};

  @Test
  void applicationsUseThePublicSandboxApiNeverItsInsidesOrABackend() {
    noClasses()
        .that()
        .resideInAnyPackage(APPLICATIONS)
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "dev.glint.sandbox.internal..",
            "dev.glint.hv.kvm..",
            "dev.glint.hv.mshv..",
            "dev.glint.hv.whp..",
            "dev.glint.hv.emulated..",
            "dev.glint.benchmarks..")
        .because(
            "the demo and the command line are users of Glint: the sandbox's public API, backends"
                + " found through ServiceLoader (design.md)")
        .check(glint);
  }

  @Test
  void theDemoDependsOnTheSandboxApiTheSampleGuestsAndTheJdk() {
    classes()
        .that()
        .resideInAPackage("dev.glint.demo..")
        .should()
        .onlyDependOnClassesThat()
        .resideInAnyPackage(
            "dev.glint.demo..",
            "dev.glint.sandbox",
            "dev.glint.hv",
            "dev.glint.guest",
            "java..",
            "jdk.jfr..",
            "com.sun.net.httpserver..")
        .check(glint);
  }

  @Test
  void theCommandLineUsesPublicApisOnly() {
    classes()
        .that()
        .resideInAPackage("dev.glint.cli..")
        .should()
        .onlyDependOnClassesThat()
        .resideInAnyPackage(
            "dev.glint.cli..",
            "dev.glint.sandbox",
            "dev.glint.demo",
            "dev.glint.guest",
            "dev.glint.hv",
            "dev.glint.hv.spi",
            "dev.glint.hv.conformance",
            "java..",
            "picocli..",
            "org.junit.platform.launcher..",
            "org.junit.platform.engine..")
        .because("the command line sees the demo, the sandbox and the SPI as any user does")
        .check(glint);
  }

  @Test
  void noLibraryDependsOnTheApplications() {
    noClasses()
        .that()
        .resideOutsideOfPackages(APPLICATIONS)
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(APPLICATIONS)
        .check(glint);
    noClasses()
        .that()
        .resideInAPackage("dev.glint.demo..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("dev.glint.cli..")
        .check(glint);
  }

  @Test
  void nativeLinkingOnlyInBackendSysPackages() {
    ArchRule rule =
        noClasses()
            .that()
            .resideOutsideOfPackage(NATIVE_PACKAGES)
            .should()
            .dependOnClassesThat()
            .haveFullyQualifiedName("java.lang.foreign.Linker")
            .orShould()
            .dependOnClassesThat()
            .haveFullyQualifiedName("java.lang.foreign.SymbolLookup")
            .because("native calls belong to a backend's internal.sys package (design.md)");
    rule.check(glint);
  }

  @Test
  void restrictedMethodsOnlyInBackendSysPackages() {
    DescribedPredicate<JavaMethodCall> restricted =
        DescribedPredicate.describe(
            "a restricted FFM or JNI method",
            call ->
                RESTRICTED_METHODS.contains(
                    call.getTargetOwner().getName() + "#" + call.getName()));
    noClasses()
        .that()
        .resideOutsideOfPackage(NATIVE_PACKAGES)
        .should()
        .callMethodWhere(restricted)
        .because("restricted methods belong to a backend's internal.sys package (design.md)")
        .check(glint);
  }

  @Test
  void theSpiDependsOnTheJdkOnly() {
    classes()
        .that()
        .resideInAnyPackage("dev.glint.hv", "dev.glint.hv.spi", "dev.glint.hv.x86")
        .should()
        .onlyDependOnClassesThat()
        .resideInAnyPackage("dev.glint.hv", "dev.glint.hv.spi", "dev.glint.hv.x86", "java..")
        .check(glint);
  }

  @Test
  void theDecoderDependsOnTheJdkOnly() {
    classes()
        .that()
        .resideInAPackage("dev.glint.x86.decoder..")
        .should()
        .onlyDependOnClassesThat()
        .resideInAnyPackage("dev.glint.x86.decoder..", "java..")
        .because("the shared x86 decoder is usable by any backend (decoder-contract.md)")
        .check(glint);
  }

  @Test
  void backendsNeverNameTheSandboxOrEachOther() {
    for (String backend : new String[] {"kvm", "mshv", "whp", "emulated"}) {
      noClasses()
          .that()
          .resideInAPackage("dev.glint.hv." + backend + "..")
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage(
              "dev.glint.sandbox..",
              otherBackends(backend, "kvm"),
              otherBackends(backend, "mshv"),
              otherBackends(backend, "whp"),
              otherBackends(backend, "emulated"))
          .allowEmptyShould(true)
          .check(glint);
    }
  }

  @Test
  void sandboxNeverNamesABackend() {
    noClasses()
        .that()
        .resideInAPackage("dev.glint.sandbox..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "dev.glint.hv.kvm..",
            "dev.glint.hv.mshv..",
            "dev.glint.hv.whp..",
            "dev.glint.hv.emulated..")
        .allowEmptyShould(true)
        .check(glint);
  }

  @Test
  void noCyclesBetweenPackages() {
    slices().matching("dev.glint.(**)").should().beFreeOfCycles().check(glint);
  }

  /**
   * {@return the package pattern of {@code other}, or one matching nothing if it is {@code self}}
   */
  private static String otherBackends(String self, String other) {
    return self.equals(other) ? "dev.glint.nothing.." : "dev.glint.hv." + other + "..";
  }
}
