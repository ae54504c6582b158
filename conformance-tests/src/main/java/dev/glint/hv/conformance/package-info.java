/**
 * The conformance suite every hypervisor backend must pass, published as main code (like Netty's
 * testsuite) so that third-party backends can run it too.
 *
 * <p>A backend depends on this module in test scope and writes one subclass of {@link
 * dev.glint.hv.conformance.HypervisorConformanceTest} that overrides only {@code provider()},
 * usually with {@code providerNamed("name")}, which finds the provider through ServiceLoader. The
 * suite's groups ({@code ExecutionModeTests}, {@code UserModeTests}, {@code PortIoTests}, {@code
 * MemoryTests}, {@code ConcurrencyTests}, {@code ResourceTests}, {@code ArgumentTests}) run as
 * nested classes of that subclass; each is also a public abstract class to subclass alone.
 *
 * <p>Unavailable backends are skipped with the provider's reason; {@code
 * -Dglint.conformance.require=kvm,...} turns that into a failure. A test that needs a {@link
 * dev.glint.hv.Capability} the backend reports absent is skipped with that reason.
 *
 * <p>Guests are built with the {@code dev.glint.hv.x86} helpers: identity-mapped page tables, GDT,
 * TSS with an I/O permission bitmap, and an IDT whose CPL-0 handlers report faults with one {@code
 * out}. Guest programs are byte arrays with their assembly beside them.
 */
package dev.glint.hv.conformance;
