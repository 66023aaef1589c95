/** Engine configuration: records, and their layered sources (flags > properties > env > file). */
package dev.tandem.core.config;
