/** Finding plugin providers in the boot layer and in a plugins directory, and choosing one. */
package dev.tandem.core.plugin;
