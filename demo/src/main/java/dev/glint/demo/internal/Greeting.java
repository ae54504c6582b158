package dev.glint.demo.internal;

/**
 * The outcome of one hello-world call: what the guest printed through {@code HostPrint} during the
 * call, and what {@code PrintOutput} returned (the byte count {@code HostPrint} reported).
 *
 * @param printed the text the guest printed, as it printed it
 * @param returned {@code PrintOutput}'s result
 */
public record Greeting(String printed, int returned) {}
