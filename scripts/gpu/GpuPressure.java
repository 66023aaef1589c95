package dev.tandem.gpucheck;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.api.sequence.SamplingParams;
import dev.tandem.core.config.EngineConfig;
import dev.tandem.core.engine.Engine;
import dev.tandem.core.engine.Request;
import dev.tandem.core.engine.RequestOutput;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The engine under block pressure on a GPU backend: the 100 numwords-t5 eval prompts (greedy, plus
 * sampled n = 2 and beam-search groups) through an engine with an ample KV cache and through one
 * so small that groups are preempted by swap, moving their self and cross blocks through the
 * pinned swap pool and back. Generations must not change, and must equal the CPU backend's.
 *
 * <p>usage: GpuPressure BACKEND [MODEL_DIR]; exits 1 when anything differs or no swap happened.
 */
public final class GpuPressure {

  private GpuPressure() {}

  public static void main(String[] args) throws IOException {
    String backend = args.length > 0 ? args[0] : "cuda";
    Path model = Path.of(args.length > 1 ? args[1] : "models/numwords-t5");
    JsonNode examples = new ObjectMapper().readTree(model.resolve("eval.json").toFile()).get("examples");
    List<Request> requests = new ArrayList<>();
    for (int i = 0; i < examples.size(); i++) {
      int[] ids = new int[examples.get(i).get("input_ids").size()];
      for (int j = 0; j < ids.length; j++) {
        ids[j] = examples.get(i).get("input_ids").get(j).asInt();
      }
      SamplingParams.Builder params = SamplingParams.builder().maxTokens(48);
      switch (i % 5) {
        case 3 -> params.n(2).temperature(0.8).seed((long) i);
        case 4 -> params.numBeams(3).n(2);
        default -> {}
      }
      requests.add(Request.ofTokens("p" + i, ids, params.build()));
    }
    Map<String, RequestOutput> ample = run(backend, model, requests, 4096, 64, "ample cache");
    Map<String, RequestOutput> tight = run(backend, model, requests, 40, 1024, "tight cache");
    Map<String, RequestOutput> reference = run("cpu", model, requests, 4096, 64, "reference");
    int differ = 0;
    int greedyExact = 0;
    for (int i = 0; i < requests.size(); i++) {
      String id = requests.get(i).requestId();
      String expected = examples.get(i).get("expected").asText();
      if (i % 5 < 3 && ample.get(id).outputs().getFirst().text().strip().equals(expected)) {
        greedyExact++;
      }
      for (var pair : List.of(List.of(reference, ample), List.of(ample, tight))) {
        if (!sameTokens(pair.get(0).get(id), pair.get(1).get(id))) {
          differ++;
          System.out.println(
              "DIFFERENT "
                  + id
                  + ": "
                  + tokens(pair.get(0).get(id))
                  + " vs "
                  + tokens(pair.get(1).get(id)));
        }
      }
    }
    System.out.printf(
        "pressure on %s: %d differences (cpu vs %s ample, ample vs tight); greedy exact match %d/%d%n",
        backend, differ, backend, greedyExact, (requests.size() * 3 + 4) / 5);
    System.exit(differ == 0 && swaps > 0 ? 0 : 1);
  }

  private static long swaps;

  private static Map<String, RequestOutput> run(
      String backend, Path model, List<Request> requests, int blocks, int swapBlocks, String what) {
    Map<String, String> flags = new HashMap<>();
    flags.put("model", model.toString());
    flags.put("backend", backend);
    flags.put("block-size", "4");
    flags.put("num-kv-blocks", String.valueOf(blocks));
    flags.put("swap-blocks", String.valueOf(swapBlocks));
    flags.put("preemption", "swap");
    flags.put("max-num-seqs", "64");
    long start = System.nanoTime();
    try (Engine engine =
        Engine.create(EngineConfig.resolve(flags, Optional.empty(), Map.of(), Map.of()))) {
      Map<String, RequestOutput> byId = new HashMap<>();
      for (RequestOutput output : engine.generate(requests)) {
        byId.put(output.requestId(), output);
      }
      var stats = engine.stats();
      System.out.printf(
          "%s, %s (%d blocks, %d swap blocks): %.2f s, %s, device %s%n",
          backend,
          what,
          blocks,
          swapBlocks,
          (System.nanoTime() - start) / 1e9,
          stats.scheduler(),
          engine.device());
      if (what.equals("tight cache")) {
        swaps = stats.scheduler().swapOuts();
        if (swaps == 0) {
          System.out.println("NO SWAP happened under the tight cache: the check proves nothing");
        }
        engine.checkBlockInvariants();
      }
      return byId;
    }
  }

  private static boolean sameTokens(RequestOutput a, RequestOutput b) {
    if (a.outputs().size() != b.outputs().size()) {
      return false;
    }
    for (int i = 0; i < a.outputs().size(); i++) {
      if (!Arrays.equals(a.outputs().get(i).tokenIds(), b.outputs().get(i).tokenIds())) {
        return false;
      }
    }
    return true;
  }

  private static String tokens(RequestOutput output) {
    return output.outputs().stream().map(o -> Arrays.toString(o.tokenIds())).toList().toString();
  }
}
