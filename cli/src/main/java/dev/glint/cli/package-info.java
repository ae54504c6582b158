/**
 * The {@code glint} command line; {@link dev.glint.cli.GlintCli} is its entry point. Run {@code
 * glint --help} for the commands.
 */
package dev.glint.cli;
