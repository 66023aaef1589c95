/** Tandem's engine: plugin discovery, configuration, checkpoints, models, scheduler, sampling. */
module dev.tandem.core {
  requires transitive dev.tandem.api;
  requires com.google.guice;
  requires com.fasterxml.jackson.databind;
  requires ai.djl.tokenizers;
  requires java.logging;

  // exports dev.tandem.core.plugin;
  // exports dev.tandem.core.config;
  exports dev.tandem.core.checkpoint;
  exports dev.tandem.core.tokenizer;

  // exports dev.tandem.core.model;
  // exports dev.tandem.core.runner;
  exports dev.tandem.core.engine;
  exports dev.tandem.core.sampling;
  exports dev.tandem.core.bench;

  // opens dev.tandem.core.plugin to com.google.guice;
  // opens dev.tandem.core.engine to com.google.guice;

  uses dev.tandem.api.block.BlockSpaceManagerProvider;
  uses dev.tandem.api.backend.AttentionBackendProvider;
}
