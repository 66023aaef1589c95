/**
 * Engine configuration: {@link dev.tandem.core.config.EngineConfig} and its nested records,
 * resolved from layered sources (flags > system properties > environment > properties file >
 * defaults).
 */
package dev.tandem.core.config;
