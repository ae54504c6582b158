/**
 * The mshv backend's implementation of the hypervisor SPI: {@link
 * dev.glint.hv.mshv.internal.MshvHypervisorProvider} is the entry point, found through {@link
 * java.util.ServiceLoader}. Nothing here is exported.
 *
 * <p>Native calls live only in {@link dev.glint.hv.mshv.internal.sys}; this package sees plain
 * methods that return a result or {@code -errno}, and turns failures into {@link
 * dev.glint.hv.HypervisorException}s. See {@code docs/mshv-backend.md}.
 */
package dev.glint.hv.mshv.internal;
