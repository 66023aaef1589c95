package dev.tandem.core.checkpoint;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One memory-mapped .safetensors file: an 8-byte little-endian header length, a JSON header that
 * maps tensor names to dtype, shape and data offsets (relative to the end of the header), then the
 * tensors' bytes. The whole header is validated when the file is opened, so that a damaged file
 * fails at load time with the file and tensor named, not later inside a forward pass.
 */
final class SafetensorsFile implements AutoCloseable {
  /** The safetensors format caps the header at 100 MB; a larger length means a damaged file. */
  static final long MAX_HEADER_BYTES = 100L << 20;

  static final ValueLayout.OfFloat F32_LE =
      ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  static final ValueLayout.OfShort I16_LE =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  static final ValueLayout.OfDouble F64_LE =
      ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  static final ValueLayout.OfLong I64_LE =
      ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  private static final JsonMapper JSON =
      JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

  /** One tensor's place in this file; {@code begin} and {@code end} are absolute file offsets. */
  record Tensor(SafetensorsFile source, TensorInfo info, long begin, long end) {}

  private final Path file;
  private final Arena arena;
  private final MemorySegment mapped;
  private final Map<String, Tensor> tensors;

  private SafetensorsFile(Path file, Arena arena, MemorySegment mapped) {
    this.file = file;
    this.arena = arena;
    this.mapped = mapped;
    this.tensors = Collections.unmodifiableMap(parseHeader());
  }

  /** Maps {@code file} read-only and validates its header. */
  static SafetensorsFile open(Path file) {
    requireNonNull(file, "file is null");
    Arena arena = Arena.ofShared();
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      MemorySegment mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
      return new SafetensorsFile(file, arena, mapped);
    } catch (IOException e) {
      arena.close();
      throw new CheckpointException("cannot read safetensors file " + file + ": " + e, e);
    } catch (RuntimeException e) {
      arena.close();
      throw e;
    }
  }

  Path file() {
    return file;
  }

  /** The tensors in header order. */
  Map<String, Tensor> tensors() {
    return tensors;
  }

  /** The stored bytes of {@code tensor}, valid until {@link #close()}. */
  MemorySegment bytes(Tensor tensor) {
    return mapped.asSlice(tensor.begin(), tensor.end() - tensor.begin());
  }

  @Override
  public void close() {
    arena.close();
  }

  private Map<String, Tensor> parseHeader() {
    long fileSize = mapped.byteSize();
    if (fileSize < Long.BYTES) {
      throw fail(
          "truncated: "
              + fileSize
              + " bytes, but a safetensors file starts with an 8-byte header length");
    }
    long headerLength = mapped.get(I64_LE, 0);
    if (headerLength < 0 || headerLength > fileSize - Long.BYTES) {
      throw fail(
          "header length "
              + headerLength
              + " goes beyond the end of the file ("
              + fileSize
              + " bytes): the file is truncated or not a safetensors file");
    }
    if (headerLength < 2 || headerLength > MAX_HEADER_BYTES) {
      throw fail(
          "header length "
              + headerLength
              + " is not plausible (a JSON object of 2 to "
              + MAX_HEADER_BYTES
              + " bytes); not a safetensors file?");
    }
    long dataStart = Long.BYTES + headerLength;
    JsonNode header = readHeaderJson(headerLength);
    Map<String, Tensor> result = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> field : header.properties()) {
      if (!field.getKey().equals("__metadata__")) {
        Tensor tensor = parseTensor(field.getKey(), field.getValue(), dataStart, fileSize);
        result.put(tensor.info().name(), tensor);
      }
    }
    checkNoOverlap(result.values());
    return result;
  }

  private JsonNode readHeaderJson(long headerLength) {
    byte[] headerBytes = mapped.asSlice(Long.BYTES, headerLength).toArray(ValueLayout.JAVA_BYTE);
    JsonNode header;
    try {
      header = JSON.readTree(headerBytes);
    } catch (JsonProcessingException e) {
      throw fail("invalid header JSON: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw fail("cannot read header: " + e, e);
    }
    if (header == null || !header.isObject()) {
      throw fail("invalid header JSON: expected an object of tensors, found " + header);
    }
    return header;
  }

  private Tensor parseTensor(String name, JsonNode node, long dataStart, long fileSize) {
    if (!node.isObject()) {
      throw failTensor(name, "header entry must be an object with dtype, shape, data_offsets");
    }
    JsonNode dtypeNode = node.get("dtype");
    if (dtypeNode == null || !dtypeNode.isTextual()) {
      throw failTensor(name, "missing or non-text 'dtype'");
    }
    DType dtype;
    try {
      dtype = DType.fromSafetensors(dtypeNode.asText());
    } catch (IllegalArgumentException e) {
      throw failTensor(name, e.getMessage());
    }
    long[] shape = longArray(name, node.get("shape"), "shape");
    long[] offsets = longArray(name, node.get("data_offsets"), "data_offsets");
    if (offsets.length != 2 || offsets[0] > offsets[1]) {
      throw failTensor(
          name,
          "data_offsets must be [begin, end] with 0 <= begin <= end, found "
              + Arrays.toString(offsets));
    }
    TensorInfo info = new TensorInfo(name, dtype, shape, file);
    long expectedBytes;
    try {
      expectedBytes = info.byteSize();
    } catch (ArithmeticException e) {
      throw failTensor(name, "shape " + Arrays.toString(shape) + " overflows");
    }
    long stored = offsets[1] - offsets[0];
    if (stored != expectedBytes) {
      throw failTensor(
          name,
          "data_offsets "
              + Arrays.toString(offsets)
              + " span "
              + stored
              + " bytes, but "
              + dtype
              + Arrays.toString(shape)
              + " needs "
              + expectedBytes);
    }
    long dataSize = fileSize - dataStart;
    if (offsets[1] > dataSize) {
      throw failTensor(
          name,
          "data_offsets "
              + Arrays.toString(offsets)
              + " are out of range: the data section has only "
              + dataSize
              + " bytes (file truncated?)");
    }
    return new Tensor(this, info, dataStart + offsets[0], dataStart + offsets[1]);
  }

  private long[] longArray(String tensor, JsonNode node, String key) {
    if (node == null || !node.isArray()) {
      throw failTensor(tensor, "missing or non-array '" + key + "'");
    }
    long[] values = new long[node.size()];
    for (int i = 0; i < values.length; i++) {
      JsonNode element = node.get(i);
      if (!element.canConvertToLong() || !element.isIntegralNumber() || element.asLong() < 0) {
        throw failTensor(
            tensor, "'" + key + "' must hold non-negative integers, found " + node.toString());
      }
      values[i] = element.asLong();
    }
    return values;
  }

  private void checkNoOverlap(Iterable<Tensor> all) {
    List<Tensor> sorted = new ArrayList<>();
    all.forEach(sorted::add);
    sorted.removeIf(t -> t.begin() == t.end());
    sorted.sort(Comparator.comparingLong(Tensor::begin));
    for (int i = 1; i < sorted.size(); i++) {
      Tensor previous = sorted.get(i - 1);
      Tensor current = sorted.get(i);
      if (current.begin() < previous.end()) {
        throw fail(
            "tensors '"
                + previous.info().name()
                + "' and '"
                + current.info().name()
                + "' overlap (their data_offsets share bytes)");
      }
    }
  }

  private CheckpointException fail(String what) {
    return new CheckpointException(file + ": " + what);
  }

  private CheckpointException fail(String what, Throwable cause) {
    return new CheckpointException(file + ": " + what, cause);
  }

  private CheckpointException failTensor(String tensor, String what) {
    return fail("tensor '" + tensor + "': " + what);
  }
}
