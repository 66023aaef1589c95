package dev.tandem.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** A small {@code tandem bench} on the bundled model from the distribution. */
class BenchCommandIT {

  @Test
  void printsTheTableWithDeviceAndMachine() {
    Launcher.Run run = bench();
    assertEquals(0, run.exitCode(), run::toString);
    String[] lines = run.stdout().split("\n");
    assertTrue(lines[0].matches("model +B +L +O +tok/s +ttft ms .*preempt.*"), run::toString);
    assertTrue(lines[1].matches("numwords-t5 +3 +8 +4 .*"), run::toString);
    assertEquals(
        "sampling: greedy (tokens chosen on the backend in 100% of steps)",
        lines[2], run::toString);
    assertTrue(lines[3].startsWith("device: cpu"), run::toString);
    assertTrue(lines[4].startsWith("machine: "), run::toString);
  }

  @Test
  void samplingFlagsSampleAndSaySo() {
    Launcher.Run run = bench("--temperature", "1", "--top-p", "0.9", "--top-k", "20");
    assertEquals(0, run.exitCode(), run::toString);
    assertTrue(
        run.stdout()
            .contains(
                "\nsampling: temperature=1 top_p=0.9 top_k=20 (tokens chosen on the backend in 0%"
                    + " of steps)\n"),
        run::toString);
    Launcher.Run bad = bench("--top-p", "1.5");
    assertEquals(2, bad.exitCode(), bad::toString);
    assertTrue(bad.stderr().contains("top_p"), bad::toString);
  }

  @Test
  void jsonGivesTheSameMeasures() throws IOException {
    Launcher.Run run = bench("--json");
    assertEquals(0, run.exitCode(), run::toString);
    JsonNode result = new ObjectMapper().readTree(run.stdout()).get(0);
    assertEquals(3, result.get("batchSize").asInt());
    assertEquals(3 * 4, result.get("generatedTokens").asLong(), "3 prompts x 4 tokens");
    assertTrue(result.get("tokensPerSecond").asDouble() > 0, run::toString);
  }

  @Test
  void backendOptionsReachTheBackend() {
    String model = Launcher.distribution().resolve(Home.BUNDLED_MODEL).toString();
    Launcher.Run run =
        Launcher.run(
            "bench",
            "--model",
            model,
            "--backend",
            "opencl",
            "--backend-option",
            "opencl.device=no-such-device",
            "--batch",
            "1",
            "--input-len",
            "4",
            "--output-len",
            "2");
    assertTrue(run.exitCode() != 0, run::toString);
    // The backend itself rejects the value: the option reached it.
    assertTrue(
        run.stderr().contains("opencl.device=no-such-device: no device name contains it"),
        run::toString);
  }

  private static Launcher.Run bench(String... extra) {
    String model = Launcher.distribution().resolve(Home.BUNDLED_MODEL).toString();
    String[] args = {
      "bench",
      "--model",
      model,
      "--backend",
      "cpu",
      "--num-prompts",
      "3",
      "--batch",
      "2",
      "--input-len",
      "8",
      "--output-len",
      "4"
    };
    String[] all = java.util.Arrays.copyOf(args, args.length + extra.length);
    System.arraycopy(extra, 0, all, args.length, extra.length);
    return Launcher.run(all);
  }
}
