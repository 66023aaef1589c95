/** Tandem's engine: plugin discovery, configuration, checkpoints, models, scheduler, sampling. */
// Guice is an automatic module; PluginModule (a Guice module) is public API, hence transitive.
@SuppressWarnings("requires-transitive-automatic")
module dev.tandem.core {
  requires transitive dev.tandem.api;
  // The sampler's per-row maxima, exponentials and sums over the vocabulary.
  requires jdk.incubator.vector;
  requires transitive com.google.guice;
  requires com.fasterxml.jackson.databind;
  requires ai.djl.tokenizers;
  // DJL (automatic modules) logs through SLF4J, an explicit module that nothing else would
  // resolve on the module path.
  requires org.slf4j;
  requires java.logging;

  exports dev.tandem.core.plugin;
  exports dev.tandem.core.config;
  exports dev.tandem.core.checkpoint;
  exports dev.tandem.core.tokenizer;
  exports dev.tandem.core.model;
  exports dev.tandem.core.runner;
  exports dev.tandem.core.engine;
  exports dev.tandem.core.sampling;
  exports dev.tandem.core.bench;

  opens dev.tandem.core.plugin to
      com.google.guice;

  // opens dev.tandem.core.engine to com.google.guice;

  uses dev.tandem.api.block.BlockSpaceManagerProvider;
  uses dev.tandem.api.backend.AttentionBackendProvider;
}
