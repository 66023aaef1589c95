package dev.tandem.api.backend;

import dev.tandem.api.PluginProvider;

/**
 * Makes {@link AttentionBackend}s; found by {@link java.util.ServiceLoader}, chosen by name or by
 * {@code auto} (highest {@link #priority()} among available providers). Documented priorities: cuda
 * 300, opencl on a GPU 200, cpu 100, opencl on a CPU device 50.
 */
public interface AttentionBackendProvider extends PluginProvider {

  AttentionBackend create(BackendConfig config);
}
