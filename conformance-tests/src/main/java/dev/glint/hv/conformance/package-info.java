/**
 * The conformance suite every hypervisor backend must pass. A backend runs it by subclassing {@code
 * HypervisorConformanceTest} and naming its provider.
 */
package dev.glint.hv.conformance;
