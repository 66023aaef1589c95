package dev.tandem.core.checkpoint;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes float tensors to a .safetensors file, stored as F32, F16 or BF16. Tensors are declared
 * first (so the header can be written before any data), then {@link #write} streams each one
 * through a small buffer: a tensor given as a {@link FloatSource} is never held in memory whole, so
 * checkpoints larger than the heap (or than 2 GiB) can be written.
 *
 * <pre>{@code
 * new SafetensorsWriter()
 *     .add("shared.weight", DType.F32, embedding, vocab, dModel)
 *     .add("lm_head.weight", DType.BF16, (start, chunk, n) -> random.fill(chunk, n), vocab, dModel)
 *     .write(dir.resolve("model.safetensors"));
 * }</pre>
 */
public final class SafetensorsWriter {
  /** Elements converted and written per step. */
  private static final int CHUNK_ELEMENTS = 1 << 16;

  private static final JsonMapper JSON = JsonMapper.builder().build();

  /** Produces a tensor's elements in row-major order, one chunk at a time. */
  @FunctionalInterface
  public interface FloatSource {
    /**
     * Fills {@code chunk[0, length)} with the tensor's elements {@code [start, start + length)}.
     */
    void fill(long start, float[] chunk, int length);
  }

  private record Pending(String name, DType dtype, long[] shape, long elements, FloatSource data) {}

  private final Map<String, String> metadata = new LinkedHashMap<>();
  private final List<Pending> tensors = new ArrayList<>();

  /** Adds a {@code __metadata__} entry (HuggingFace writes {@code "format": "pt"}). */
  public SafetensorsWriter metadata(String key, String value) {
    metadata.put(requireNonNull(key, "key is null"), requireNonNull(value, "value is null"));
    return this;
  }

  /** Adds a float32 tensor. */
  public SafetensorsWriter add(String name, float[] values, long... shape) {
    return add(name, DType.F32, values, shape);
  }

  /** Adds a tensor stored as {@code dtype} (F32, F16 or BF16; F16/BF16 round to nearest). */
  public SafetensorsWriter add(String name, DType dtype, float[] values, long... shape) {
    requireNonNull(values, "values is null");
    long elements = elementCount(name, shape);
    if (values.length != elements) {
      throw new IllegalArgumentException(
          "tensor '"
              + name
              + "': "
              + values.length
              + " values for shape "
              + Arrays.toString(shape)
              + " ("
              + elements
              + " elements)");
    }
    return add(
        name,
        dtype,
        (start, chunk, n) -> System.arraycopy(values, (int) start, chunk, 0, n),
        shape);
  }

  /** Adds a tensor whose elements {@code source} produces while the file is written. */
  public SafetensorsWriter add(String name, DType dtype, FloatSource source, long... shape) {
    requireNonNull(name, "name is null");
    requireNonNull(dtype, "dtype is null");
    requireNonNull(source, "source is null");
    if (name.isEmpty() || name.equals("__metadata__")) {
      throw new IllegalArgumentException("'" + name + "' cannot name a tensor");
    }
    if (dtype != DType.F32 && dtype != DType.F16 && dtype != DType.BF16) {
      throw new IllegalArgumentException(
          "tensor '" + name + "': cannot write dtype " + dtype + "; supported: F32, F16, BF16");
    }
    if (tensors.stream().anyMatch(t -> t.name().equals(name))) {
      throw new IllegalArgumentException("tensor '" + name + "' was already added");
    }
    tensors.add(new Pending(name, dtype, shape.clone(), elementCount(name, shape), source));
    return this;
  }

  /** Writes the header and every tensor to {@code file}, replacing it if it exists. */
  public void write(Path file) {
    requireNonNull(file, "file is null");
    byte[] header = header();
    try (FileChannel channel =
        FileChannel.open(
            file,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.WRITE)) {
      ByteBuffer prefix = ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
      prefix.putLong(header.length).flip();
      writeFully(channel, prefix);
      writeFully(channel, ByteBuffer.wrap(header));
      float[] chunk = new float[CHUNK_ELEMENTS];
      ByteBuffer bytes =
          ByteBuffer.allocateDirect(CHUNK_ELEMENTS * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
      for (Pending tensor : tensors) {
        for (long start = 0; start < tensor.elements(); start += CHUNK_ELEMENTS) {
          int n = (int) Math.min(CHUNK_ELEMENTS, tensor.elements() - start);
          tensor.data().fill(start, chunk, n);
          bytes.clear();
          encode(tensor.dtype(), chunk, n, bytes);
          writeFully(channel, bytes.flip());
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  /** The JSON header, padded with spaces to a multiple of 8 bytes as safetensors does. */
  private byte[] header() {
    ObjectNode root = JSON.createObjectNode();
    if (!metadata.isEmpty()) {
      ObjectNode meta = root.putObject("__metadata__");
      metadata.forEach(meta::put);
    }
    long offset = 0;
    for (Pending tensor : tensors) {
      ObjectNode entry = root.putObject(tensor.name());
      entry.put("dtype", tensor.dtype().name());
      ArrayNode shape = entry.putArray("shape");
      Arrays.stream(tensor.shape()).forEach(shape::add);
      long end = offset + tensor.elements() * tensor.dtype().byteSize();
      entry.putArray("data_offsets").add(offset).add(end);
      offset = end;
    }
    byte[] json = root.toString().getBytes(StandardCharsets.UTF_8);
    int padded = (json.length + 7) & ~7;
    byte[] header = Arrays.copyOf(json, padded);
    Arrays.fill(header, json.length, padded, (byte) ' ');
    return header;
  }

  private static void encode(DType dtype, float[] values, int n, ByteBuffer out) {
    switch (dtype) {
      case F32 -> out.asFloatBuffer().put(values, 0, n);
      case F16 -> {
        for (int i = 0; i < n; i++) {
          out.putShort(2 * i, Float.floatToFloat16(values[i]));
        }
      }
      case BF16 -> {
        for (int i = 0; i < n; i++) {
          out.putShort(2 * i, FloatConversion.floatToBf16(values[i]));
        }
      }
      default -> throw new AssertionError("add() accepted dtype " + dtype);
    }
    out.position(n * dtype.byteSize());
  }

  private static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
    while (buffer.hasRemaining()) {
      channel.write(buffer);
    }
  }

  private static long elementCount(String name, long[] shape) {
    requireNonNull(shape, "shape is null");
    long count = 1;
    for (long dim : shape) {
      if (dim < 0) {
        throw new IllegalArgumentException(
            "tensor '" + name + "': negative dimension in " + Arrays.toString(shape));
      }
      count = Math.multiplyExact(count, dim);
    }
    return count;
  }
}
