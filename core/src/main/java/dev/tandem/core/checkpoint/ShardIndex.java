package dev.tandem.core.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code model.safetensors.index.json}: its {@code weight_map} says which shard holds each tensor.
 *
 * @param file the index file
 * @param shardByTensor tensor name to shard file name, in file order
 */
record ShardIndex(Path file, Map<String, String> shardByTensor) {
  private static final JsonMapper JSON = JsonMapper.builder().build();

  static ShardIndex read(Path file) {
    JsonNode root;
    try {
      root = JSON.readTree(Files.readString(file));
    } catch (JsonProcessingException e) {
      throw new CheckpointException(file + ": invalid JSON: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new CheckpointException(file + ": cannot read: " + e, e);
    }
    JsonNode weightMap = root == null ? null : root.get("weight_map");
    if (weightMap == null || !weightMap.isObject() || weightMap.isEmpty()) {
      throw new CheckpointException(
          file + ": expected a non-empty object 'weight_map' of tensor name to shard file name");
    }
    Map<String, String> shardByTensor = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> entry : weightMap.properties()) {
      if (!entry.getValue().isTextual()) {
        throw new CheckpointException(
            file
                + ": weight_map['"
                + entry.getKey()
                + "'] must be a shard file name, found "
                + entry.getValue());
      }
      shardByTensor.put(entry.getKey(), entry.getValue().textValue());
    }
    return new ShardIndex(file, shardByTensor);
  }

  /** The distinct shard files, in first-use order; each must be a file beside the index. */
  List<Path> shardFiles() {
    Path dir = file.toAbsolutePath().getParent().normalize();
    Set<String> names = new LinkedHashSet<>(shardByTensor.values());
    List<Path> files = new ArrayList<>(names.size());
    for (String name : names) {
      Path shard = dir.resolve(name).normalize();
      if (!shard.getParent().equals(dir)) {
        throw new CheckpointException(
            file + ": shard '" + name + "' is not a plain file name in " + dir);
      }
      if (!Files.isRegularFile(shard)) {
        throw new CheckpointException(
            file + ": shard '" + name + "' does not exist in " + dir + "; shards named: " + names);
      }
      files.add(shard);
    }
    return files;
  }

  /** Checks that every tensor the index names is in the shard it names. */
  void checkShardsHold(Map<String, SafetensorsFile.Tensor> tensors) {
    for (Map.Entry<String, String> entry : shardByTensor.entrySet()) {
      SafetensorsFile.Tensor tensor = tensors.get(entry.getKey());
      if (tensor == null
          || !tensor.info().file().getFileName().toString().equals(entry.getValue())) {
        throw new CheckpointException(
            file
                + ": weight_map puts tensor '"
                + entry.getKey()
                + "' in shard '"
                + entry.getValue()
                + "', but "
                + (tensor == null
                    ? "no shard holds it"
                    : "it is in " + tensor.info().file().getFileName()));
      }
    }
  }
}
