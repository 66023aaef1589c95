/** Encoder/decoder model forward passes composed of backend operations; one folder per family. */
package dev.tandem.core.model;
