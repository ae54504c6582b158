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
  void classPathUsersFindTheKvmBackend() {
    List<String> names =
        ServiceLoader.load(HypervisorProvider.class).stream().map(p -> p.type().getName()).toList();
    assertTrue(names.contains(KVM_PROVIDER), "META-INF/services lists " + names);
  }

  private static ModuleDescriptor descriptorOf(Class<?> type) throws URISyntaxException {
    Path location = Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
    return ModuleFinder.of(location).findAll().stream()
        .map(ModuleReference::descriptor)
        .findFirst()
        .orElseThrow(() -> new AssertionError("no module descriptor in " + location));
  }
}
