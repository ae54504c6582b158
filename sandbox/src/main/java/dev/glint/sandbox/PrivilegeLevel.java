package dev.glint.sandbox;

/**
 * The x86 privilege level at which a sandbox runs its guest's functions (ABI §5). The host's fault
 * handlers always run at CPL 0; this chooses where the guest's own code runs.
 *
 * <p>The default ({@link Sandbox.Builder#privilegeLevel} not called) comes from the backend: {@link
 * #USER} where privileged guest code runs emulated (PVM hosts, where CPL-0 code is about 4,000
 * times slower), {@link #KERNEL} where it runs natively (hardware virtualization).
 */
public enum PrivilegeLevel {
  /**
   * CPL 3: the guest cannot touch its page tables, GDT, IDT or TSS, and may use only the Glint
   * ports. On PVM hosts its code runs natively, while each exit costs more.
   */
  USER(3),
  /** CPL 0: the fewest instructions per exit; on PVM hosts every instruction is emulated. */
  KERNEL(0);

  private final int cpl;

  PrivilegeLevel(int cpl) {
    this.cpl = cpl;
  }

  /** {@return the current privilege level: 3 for {@link #USER}, 0 for {@link #KERNEL}} */
  public int cpl() {
    return cpl;
  }
}
