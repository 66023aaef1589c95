/** The {@code tandem} command line: generate, bench, plugins. */
package dev.tandem.cli;
