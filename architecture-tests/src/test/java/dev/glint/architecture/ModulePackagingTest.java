package dev.glint.architecture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glint.hv.spi.HypervisorProvider;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * How the modules are packaged: what each exports, and that backends are found both on the module
 * path ({@code provides}) and on the class path ({@code META-INF/services}).
 */
class ModulePackagingTest {

  private static final String KVM_PROVIDER = "dev.glint.hv.kvm.internal.KvmHypervisorProvider";

  private static final String EMULATED_PROVIDER =
      "dev.glint.hv.emulated.internal.EmulatedHypervisorProvider";

  @Test
  void backendModuleExportsNothingAndProvidesTheService() throws Exception {
    ModuleDescriptor kvm = descriptorOf(Class.forName(KVM_PROVIDER));
    assertEquals("dev.glint.hv.kvm", kvm.name());
    assertTrue(kvm.exports().isEmpty(), "a backend exports nothing, found " + kvm.exports());
    assertEquals(
        Set.of(KVM_PROVIDER),
        kvm.provides().stream()
            .filter(p -> p.service().equals(HypervisorProvider.class.getName()))
            .flatMap(p -> p.providers().stream())
            .collect(Collectors.toSet()));
  }

  private static final String WHP_PROVIDER = "dev.glint.hv.whp.internal.WhpHypervisorProvider";

  @Test
  void whpBackendExportsNothingProvidesTheServiceAndIsFoundOnTheClassPath() throws Exception {
    ModuleDescriptor whp = descriptorOf(Class.forName(WHP_PROVIDER));
    assertEquals("dev.glint.hv.whp", whp.name());
    assertTrue(whp.exports().isEmpty(), "a backend exports nothing, found " + whp.exports());
    assertEquals(
        Set.of(WHP_PROVIDER),
        whp.provides().stream()
            .filter(p -> p.service().equals(HypervisorProvider.class.getName()))
            .flatMap(p -> p.providers().stream())
            .collect(Collectors.toSet()));
    assertTrue(
        ServiceLoader.load(HypervisorProvider.class).stream()
            .anyMatch(p -> p.type().getName().equals(WHP_PROVIDER)),
        "META-INF/services lists the WHP provider for class-path users");
  }

  private static final String MSHV_PROVIDER = "dev.glint.hv.mshv.internal.MshvHypervisorProvider";

  @Test
  void mshvModuleExportsNothingAndProvidesTheService() throws Exception {
    ModuleDescriptor mshv = descriptorOf(Class.forName(MSHV_PROVIDER));
    assertEquals("dev.glint.hv.mshv", mshv.name());
    assertTrue(mshv.exports().isEmpty(), "a backend exports nothing, found " + mshv.exports());
    assertEquals(
        Set.of(MSHV_PROVIDER),
        mshv.provides().stream()
            .filter(p -> p.service().equals(HypervisorProvider.class.getName()))
            .flatMap(p -> p.providers().stream())
            .collect(Collectors.toSet()));
    assertEquals(Set.of("java.base", "dev.glint.hv", "dev.glint.x86.decoder"), requires(mshv));
  }

  @Test
  void classPathUsersFindTheMshvBackend() {
    List<String> names =
        ServiceLoader.load(HypervisorProvider.class).stream().map(p -> p.type().getName()).toList();
    assertTrue(names.contains(MSHV_PROVIDER), "META-INF/services lists " + names);
  }

  @Test
  void emulatedBackendExportsNothingProvidesTheServiceAndIsFoundOnTheClassPath() throws Exception {
    ModuleDescriptor emulated = descriptorOf(Class.forName(EMULATED_PROVIDER));
    assertEquals("dev.glint.hv.emulated", emulated.name());
    assertTrue(
        emulated.exports().isEmpty(), "a backend exports nothing, found " + emulated.exports());
    assertEquals(
        Set.of(EMULATED_PROVIDER),
        emulated.provides().stream()
            .filter(p -> p.service().equals(HypervisorProvider.class.getName()))
            .flatMap(p -> p.providers().stream())
            .collect(Collectors.toSet()));
    List<HypervisorProvider> providers =
        ServiceLoader.load(HypervisorProvider.class).stream().map(p -> p.get()).toList();
    HypervisorProvider found =
        providers.stream().filter(p -> p.name().equals("emulated")).findFirst().orElseThrow();
    for (HypervisorProvider other : providers) {
      assertTrue(
          other == found || other.priority() > found.priority(),
          "the emulated backend has the lowest priority, but "
              + other.name()
              + " has "
              + other.priority());
    }
  }

  @Test
  void apiExportsOnlyItsPublicPackages() throws Exception {
    ModuleDescriptor api = descriptorOf(HypervisorProvider.class);
    assertEquals("dev.glint.hv", api.name());
    Set<String> unqualified =
        api.exports().stream()
            .filter(e -> !e.isQualified())
            .map(ModuleDescriptor.Exports::source)
            .collect(Collectors.toSet());
    assertEquals(Set.of("dev.glint.hv", "dev.glint.hv.spi", "dev.glint.hv.x86"), unqualified);
    assertTrue(api.uses().contains(HypervisorProvider.class.getName()));
  }

  @Test
  void theDecoderExportsOnlyItsRootPackageAndRequiresNothing() throws Exception {
    ModuleDescriptor decoder = descriptorOf(Class.forName("dev.glint.x86.decoder.Decoder"));
    assertEquals("dev.glint.x86.decoder", decoder.name());
    assertEquals(Set.of("dev.glint.x86.decoder"), unqualifiedExports(decoder));
    assertEquals(Set.of("java.base"), requires(decoder));
  }

  @Test
  void classPathUsersFindTheKvmBackend() {
    List<String> names =
        ServiceLoader.load(HypervisorProvider.class).stream().map(p -> p.type().getName()).toList();
    assertTrue(names.contains(KVM_PROVIDER), "META-INF/services lists " + names);
  }

  @Test
  void theDemoExportsItsRootPackageAndNamesNoBackend() throws Exception {
    ModuleDescriptor demo = descriptorOf(Class.forName("dev.glint.demo.DemoServer"));
    assertEquals("dev.glint.demo", demo.name());
    assertEquals(Set.of("dev.glint.demo"), unqualifiedExports(demo));
    assertTrue(demo.opens().isEmpty(), "the demo opens nothing, found " + demo.opens());
    assertTrue(requires(demo).contains("dev.glint.sandbox"), "requires " + requires(demo));
    assertTrue(requires(demo).contains("jdk.httpserver"), "requires " + requires(demo));
    assertNoBackendRequired(demo);
  }

  @Test
  void theCommandLineExportsItsRootPackageAndOpensOnlyToItsFrameworks() throws Exception {
    ModuleDescriptor cli = descriptorOf(Class.forName("dev.glint.cli.GlintCli"));
    assertEquals("dev.glint.cli", cli.name());
    assertEquals(Set.of("dev.glint.cli"), unqualifiedExports(cli));
    for (ModuleDescriptor.Opens opens : cli.opens()) {
      assertTrue(opens.isQualified(), "opened to everyone: " + opens);
      assertTrue(
          Set.of("info.picocli", "org.junit.platform.commons").containsAll(opens.targets()),
          "opened to " + opens.targets());
    }
    assertTrue(
        requires(cli).containsAll(Set.of("dev.glint.sandbox", "dev.glint.demo", "dev.glint.guest")),
        "requires " + requires(cli));
    assertNoBackendRequired(cli);
    // The backends are found, not named: the command line uses the provider service.
    assertTrue(cli.uses().contains(HypervisorProvider.class.getName()), "uses " + cli.uses());
  }

  @Test
  void theDifferentialTestsExportTheirRootPackageAndNameNoBackend() throws Exception {
    ModuleDescriptor differential =
        descriptorOf(Class.forName("dev.glint.differential.DifferentialTester"));
    assertEquals("dev.glint.differential", differential.name());
    assertEquals(Set.of("dev.glint.differential"), unqualifiedExports(differential));
    assertNoBackendRequired(differential);
  }

  @Test
  void noModuleExportsAnInternalPackage() throws Exception {
    for (String type :
        List.of(
            "dev.glint.hv.spi.HypervisorProvider",
            KVM_PROVIDER,
            EMULATED_PROVIDER,
            "dev.glint.x86.decoder.Decoder",
            "dev.glint.sandbox.Sandbox",
            "dev.glint.guest.SampleGuests",
            "dev.glint.hv.conformance.HypervisorConformanceTest",
            "dev.glint.demo.DemoServer",
            "dev.glint.cli.GlintCli",
            "dev.glint.differential.DifferentialTester")) {
      ModuleDescriptor module = descriptorOf(Class.forName(type));
      for (ModuleDescriptor.Exports exports : module.exports()) {
        assertTrue(
            !exports.source().contains(".internal"),
            module.name() + " exports " + exports.source());
      }
    }
  }

  private static Set<String> unqualifiedExports(ModuleDescriptor module) {
    return module.exports().stream()
        .filter(e -> !e.isQualified())
        .map(ModuleDescriptor.Exports::source)
        .collect(Collectors.toSet());
  }

  private static Set<String> requires(ModuleDescriptor module) {
    return module.requires().stream()
        .map(ModuleDescriptor.Requires::name)
        .collect(Collectors.toSet());
  }

  private static void assertNoBackendRequired(ModuleDescriptor module) {
    for (String name : requires(module)) {
      assertTrue(
          !name.matches("dev\\.glint\\.hv\\.(kvm|mshv|whp|emulated)"),
          module.name()
              + " requires the backend "
              + name
              + "; backends are found with ServiceLoader");
    }
  }

  private static ModuleDescriptor descriptorOf(Class<?> type) throws URISyntaxException {
    Path location = Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
    return ModuleFinder.of(location).findAll().stream()
        .map(ModuleReference::descriptor)
        .findFirst()
        .orElseThrow(() -> new AssertionError("no module descriptor in " + location));
  }
}
