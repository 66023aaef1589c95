/** T5 v1.0, T5 v1.1 and Flan-T5. */
package dev.tandem.core.model.t5;
