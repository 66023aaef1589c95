/** HuggingFace checkpoints: config.json, generation_config.json, safetensors weights. */
package dev.tandem.core.checkpoint;
