/**
 * What {@code glint bench} measures with: latency samples and their percentiles, a progress bar,
 * and the C floor program it compares against.
 */
package dev.glint.cli.internal.bench;
