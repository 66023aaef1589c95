/** BART, mBART and Marian. */
package dev.tandem.core.model.bart;
