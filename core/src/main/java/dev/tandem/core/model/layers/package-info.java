/**
 * Building blocks shared by the model families: linears, norms, attention and feed-forward blocks,
 * residual sublayers, embeddings, the LM head, and {@link
 * dev.tandem.core.model.layers.Seq2SeqTransformer}, which composes them into a model. Internal to
 * core.
 */
package dev.tandem.core.model.layers;
