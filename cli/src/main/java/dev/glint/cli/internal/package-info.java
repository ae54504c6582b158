/**
 * The commands of the {@code glint} command line (picocli), not exported. Each command is a class:
 * {@link dev.glint.cli.internal.BackendsCommand}, {@link dev.glint.cli.internal.RunCommand}, {@link
 * dev.glint.cli.internal.BenchCommand}, {@link dev.glint.cli.internal.ConformanceCommand} and
 * {@link dev.glint.cli.internal.ServeCommand}, under {@link dev.glint.cli.internal.GlintCommand}.
 */
package dev.glint.cli.internal;
