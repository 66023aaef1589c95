package dev.tandem.core.checkpoint;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A HuggingFace checkpoint directory: {@code config.json} (required), {@code
 * generation_config.json} (optional) and the weights, either {@code model.safetensors} or {@code
 * model.safetensors.index.json} with its shards. The weight files are memory-mapped; nothing is
 * copied until {@link #floats} is asked for a tensor. Tied weights are the model code's business: a
 * checkpoint holds what the files hold, and {@link #has} tells which names exist.
 *
 * <p>Thread-safe for reading; {@link #close()} unmaps the files, after which no tensor may be read.
 */
public final class Checkpoint implements AutoCloseable {
  public static final String CONFIG_FILE = "config.json";
  public static final String GENERATION_CONFIG_FILE = "generation_config.json";
  public static final String WEIGHTS_FILE = "model.safetensors";
  public static final String WEIGHTS_INDEX_FILE = "model.safetensors.index.json";

  private static final System.Logger LOG = System.getLogger(Checkpoint.class.getName());

  private final Path directory;
  private final ConfigJson config;
  private final ConfigJson generationConfigJson; // null when the file is absent
  private final List<SafetensorsFile> files;
  private final Map<String, SafetensorsFile.Tensor> tensors;
  private volatile GenerationConfig generationConfig;

  private Checkpoint(
      Path directory,
      ConfigJson config,
      ConfigJson generationConfigJson,
      List<SafetensorsFile> files,
      Map<String, SafetensorsFile.Tensor> tensors) {
    this.directory = directory;
    this.config = config;
    this.generationConfigJson = generationConfigJson;
    this.files = files;
    this.tensors = tensors;
  }

  /**
   * Opens the checkpoint in {@code dir}: parses the configuration and maps and validates every
   * weight file's header.
   *
   * @throws CheckpointException naming the file and what is wrong or missing
   */
  public static Checkpoint open(Path dir) {
    requireNonNull(dir, "dir is null");
    if (!Files.isDirectory(dir)) {
      throw new CheckpointException(
          "checkpoint directory "
              + dir
              + (Files.exists(dir) ? " is not a directory" : " does not exist")
              + "; expected a directory with "
              + CONFIG_FILE
              + " and "
              + WEIGHTS_FILE
              + " (or "
              + WEIGHTS_INDEX_FILE
              + " and its shards)");
    }
    Path configFile = dir.resolve(CONFIG_FILE);
    if (!Files.isRegularFile(configFile)) {
      throw missingFile(dir, CONFIG_FILE + " (the model configuration)", "");
    }
    ConfigJson config = ConfigJson.read(configFile);
    Path generationFile = dir.resolve(GENERATION_CONFIG_FILE);
    ConfigJson generation =
        Files.isRegularFile(generationFile) ? ConfigJson.read(generationFile) : null;
    Path indexFile = dir.resolve(WEIGHTS_INDEX_FILE);
    ShardIndex index;
    List<Path> weightFiles;
    if (Files.isRegularFile(dir.resolve(WEIGHTS_FILE))) {
      index = null;
      weightFiles = List.of(dir.resolve(WEIGHTS_FILE));
    } else if (Files.isRegularFile(indexFile)) {
      index = ShardIndex.read(indexFile);
      weightFiles = index.shardFiles();
    } else {
      boolean pickled =
          Files.isRegularFile(dir.resolve("pytorch_model.bin"))
              || Files.isRegularFile(dir.resolve("pytorch_model.bin.index.json"));
      throw missingFile(
          dir,
          WEIGHTS_FILE + " or " + WEIGHTS_INDEX_FILE + " (the weights)",
          pickled
              ? "; pytorch_model.bin (PyTorch's pickle format) is not read: write safetensors with"
                  + " HuggingFace's model.save_pretrained(dir, safe_serialization=True)"
              : "");
    }

    List<SafetensorsFile> opened = new ArrayList<>();
    try {
      Map<String, SafetensorsFile.Tensor> tensors = new LinkedHashMap<>();
      for (Path file : weightFiles) {
        SafetensorsFile safetensors = SafetensorsFile.open(file);
        opened.add(safetensors);
        for (SafetensorsFile.Tensor tensor : safetensors.tensors().values()) {
          SafetensorsFile.Tensor previous = tensors.putIfAbsent(tensor.info().name(), tensor);
          if (previous != null) {
            throw new CheckpointException(
                "tensor '"
                    + tensor.info().name()
                    + "' is stored twice: in "
                    + previous.info().file()
                    + " and in "
                    + file);
          }
        }
      }
      if (index != null) {
        index.checkShardsHold(tensors);
      }
      Checkpoint checkpoint =
          new Checkpoint(
              dir, config, generation, List.copyOf(opened), Collections.unmodifiableMap(tensors));
      LOG.log(
          System.Logger.Level.DEBUG,
          "opened checkpoint {0}: {1} tensors in {2} file(s)",
          dir,
          tensors.size(),
          opened.size());
      return checkpoint;
    } catch (RuntimeException e) {
      opened.forEach(SafetensorsFile::close);
      throw e;
    }
  }

  /** "checkpoint DIR has no EXPECTED; the directory holds [...]" and the hint, if any. */
  private static CheckpointException missingFile(Path dir, String expected, String hint) {
    String present;
    try (Stream<Path> list = Files.list(dir)) {
      present = list.map(p -> p.getFileName().toString()).sorted().toList().toString();
    } catch (IOException e) {
      present = "(cannot list: " + e + ")";
    }
    return new CheckpointException(
        "checkpoint " + dir + " has no " + expected + "; the directory holds " + present + hint);
  }

  public Path directory() {
    return directory;
  }

  /** {@code config.json}. */
  public ConfigJson config() {
    return config;
  }

  /** {@code generation_config.json} merged over config.json; see {@link GenerationConfig}. */
  public GenerationConfig generationConfig() {
    GenerationConfig result = generationConfig;
    if (result == null) {
      result = GenerationConfig.of(config, generationConfigJson);
      generationConfig = result;
    }
    return result;
  }

  /** Every tensor name, in file order. */
  public Set<String> tensorNames() {
    return Collections.unmodifiableSet(new LinkedHashSet<>(tensors.keySet()));
  }

  public boolean has(String name) {
    return tensors.containsKey(requireNonNull(name, "name is null"));
  }

  /**
   * @throws CheckpointException when there is no such tensor, naming a few similar names
   */
  public TensorInfo info(String name) {
    return tensor(name).info();
  }

  /**
   * The raw little-endian bytes of {@code name} as stored (see {@link TensorInfo#dtype()}), for
   * code that uploads half-precision weights without widening them. Valid until {@link #close()}.
   */
  public MemorySegment bytes(String name) {
    SafetensorsFile.Tensor tensor = tensor(name);
    return tensor.source().bytes(tensor);
  }

  /** The tensor {@code name} converted to float32, row-major, whatever its shape. */
  public float[] floats(String name) {
    SafetensorsFile.Tensor tensor = tensor(name);
    return FloatConversion.toFloats(tensor.info(), tensor.source().bytes(tensor));
  }

  /**
   * The tensor {@code name} converted to float32, row-major, after checking that its shape is
   * {@code expectedShape} (none for a scalar).
   *
   * @throws CheckpointException when the tensor is missing, has another shape, or is not of a
   *     floating-point dtype
   */
  public float[] floats(String name, long... expectedShape) {
    TensorInfo info = info(name);
    if (!info.hasShape(expectedShape)) {
      throw new CheckpointException(
          "tensor '"
              + name
              + "' in "
              + info.file()
              + " has shape "
              + Arrays.toString(info.shape())
              + ", but the model configuration expects "
              + Arrays.toString(expectedShape));
    }
    return floats(name);
  }

  @Override
  public void close() {
    files.forEach(SafetensorsFile::close);
  }

  @Override
  public String toString() {
    return "Checkpoint[" + directory + ", " + tensors.size() + " tensors]";
  }

  private SafetensorsFile.Tensor tensor(String name) {
    SafetensorsFile.Tensor tensor = tensors.get(requireNonNull(name, "name is null"));
    if (tensor == null) {
      throw new CheckpointException(
          "checkpoint "
              + directory
              + " has no tensor '"
              + name
              + "' ("
              + tensors.size()
              + " tensors; the most similar: "
              + similarNames(name, 5)
              + ")");
    }
    return tensor;
  }

  private List<String> similarNames(String name, int limit) {
    return tensors.keySet().stream()
        .sorted(Comparator.comparingInt((String candidate) -> editDistance(name, candidate)))
        .limit(limit)
        .toList();
  }

  /** Levenshtein distance; only used to build error messages. */
  static int editDistance(String a, String b) {
    int[] previous = new int[b.length() + 1];
    int[] current = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      current[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[b.length()];
  }
}
