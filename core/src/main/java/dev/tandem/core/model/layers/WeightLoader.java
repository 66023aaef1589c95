package dev.tandem.core.model.layers;

import static java.util.Objects.requireNonNull;

import dev.tandem.api.backend.AttentionBackend;
import dev.tandem.api.backend.DeviceTensor;
import dev.tandem.api.backend.Normalization;
import dev.tandem.core.checkpoint.Checkpoint;
import dev.tandem.core.checkpoint.CheckpointException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Uploads a checkpoint's tensors to the backend, checking each against the shape the config
 * implies, and remembers them so that they can be freed together.
 */
public final class WeightLoader implements AutoCloseable {

  private final Checkpoint checkpoint;
  private final AttentionBackend backend;
  private final List<DeviceTensor> uploaded = new ArrayList<>();
  // Tied weights (T5's shared.weight as both embeddings and LM head) are uploaded once.
  private final Map<String, DeviceTensor> byName = new HashMap<>();
  private final String source;

  /**
   * @param source names the checkpoint in errors, e.g. its directory
   */
  public WeightLoader(Checkpoint checkpoint, AttentionBackend backend, String source) {
    this.checkpoint = requireNonNull(checkpoint, "checkpoint is null");
    this.backend = requireNonNull(backend, "backend is null");
    this.source = requireNonNull(source, "source is null");
  }

  public AttentionBackend backend() {
    return backend;
  }

  public boolean has(String name) {
    return checkpoint.has(name);
  }

  /** The tensor's values on the host, after checking its shape. */
  public float[] floats(String name, long... shape) {
    return checkpoint.floats(name, shape);
  }

  /** Uploads the named tensor after checking its shape; a name asked for again is not re-sent. */
  public DeviceTensor tensor(String name, long... shape) {
    DeviceTensor tensor = byName.get(name);
    if (tensor == null) {
      tensor = upload(checkpoint.floats(name, shape));
      byName.put(name, tensor);
    } else if (tensor.length() != Arrays.stream(shape).reduce(1, Math::multiplyExact)) {
      throw new CheckpointException(
          source + ": tensor " + name + " is used with two shapes, " + Arrays.toString(shape));
    }
    return tensor;
  }

  /** Uploads values computed on the host (sliced or generated tables). */
  public DeviceTensor upload(float[] values) {
    DeviceTensor tensor = backend.upload(values);
    uploaded.add(tensor);
    return tensor;
  }

  /**
   * The first of {@code names} the checkpoint holds: tied weights are stored under one of several
   * names.
   */
  public String firstPresent(String... names) {
    for (String name : names) {
      if (checkpoint.has(name)) {
        return name;
      }
    }
    throw new CheckpointException(
        source + ": missing tensor: none of " + Arrays.toString(names) + " is present");
  }

  /** nn.Linear {@code prefix}.weight (out, in) and, if {@code withBias}, {@code prefix}.bias. */
  public Linear linear(String prefix, int inDim, int outDim, boolean withBias) {
    DeviceTensor weight = tensor(prefix + ".weight", outDim, inDim);
    DeviceTensor bias = withBias ? tensor(prefix + ".bias", outDim) : null;
    return new Linear(weight, bias, inDim, outDim);
  }

  /** T5LayerNorm {@code name} (dim). */
  public Norm rmsNorm(String name, int dim, float eps) {
    return new Norm(Normalization.RMS, tensor(name, dim), null, dim, eps);
  }

  /** nn.LayerNorm {@code prefix}.weight and {@code prefix}.bias (dim). */
  public Norm layerNorm(String prefix, int dim, float eps) {
    return new Norm(
        Normalization.LAYER,
        tensor(prefix + ".weight", dim),
        tensor(prefix + ".bias", dim),
        dim,
        eps);
  }

  /** Hands the uploaded tensors over to their model; this loader no longer frees them. */
  List<DeviceTensor> release() {
    List<DeviceTensor> tensors = List.copyOf(uploaded);
    uploaded.clear();
    byName.clear();
    return tensors;
  }

  /** Frees whatever was uploaded and not handed over (a load that failed half-way). */
  @Override
  public void close() {
    uploaded.forEach(backend::free);
    uploaded.clear();
    byName.clear();
  }
}
