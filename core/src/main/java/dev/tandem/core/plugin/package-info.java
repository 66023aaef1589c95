/**
 * Finding plugin providers on the application's module/class path and in a plugins directory
 * ({@link dev.tandem.core.plugin.Plugins}), choosing them by name or {@code auto}, and binding the
 * choice with Guice ({@link dev.tandem.core.plugin.PluginModule}).
 */
package dev.tandem.core.plugin;
