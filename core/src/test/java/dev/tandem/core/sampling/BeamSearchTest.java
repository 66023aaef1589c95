package dev.tandem.core.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tandem.api.sequence.Sequence;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Runs {@link BeamSearch} on a toy model and compares it with a transcription of HuggingFace's
 * tensor-style {@code _beam_search} for one batch row (masks of -1e9, fixed beam slots).
 */
class BeamSearchTest {

  private static final int VOCAB = 12;
  private static final int EOS = 1;

  /** Log-probabilities the toy model gives after {@code prefix}: a seeded function of it. */
  private static float[] toyLogprobs(int[] prefix, long salt, int minNew, int promptLength) {
    long h = salt;
    for (int t : prefix) {
      h = h * 31 + t;
    }
    SplittableRandom random = new SplittableRandom(h);
    float[] logits = new float[VOCAB];
    for (int i = 0; i < VOCAB; i++) {
      logits[i] = (float) (random.nextGaussian() * 2);
    }
    logits[EOS] += 1.5f; // make EOS common enough to finish beams
    double max = Double.NEGATIVE_INFINITY;
    for (float v : logits) {
      max = Math.max(max, v);
    }
    double sum = 0;
    for (float v : logits) {
      sum += Math.exp(v - max);
    }
    float norm = (float) (max + Math.log(sum));
    float[] out = new float[VOCAB];
    for (int i = 0; i < VOCAB; i++) {
      out[i] = logits[i] - norm;
    }
    if (prefix.length - promptLength < minNew) {
      out[EOS] = Float.NEGATIVE_INFINITY;
    }
    return out;
  }

  record Result(List<int[]> sequences, double[] scores) {}

  private static Result runEngineStyle(
      int numBeams, double lengthPenalty, boolean early, int maxNew, int minNew, long salt) {
    int[] prompt = {0};
    BeamSearch search =
        new BeamSearch(numBeams, lengthPenalty, early, 1, 1 + maxNew, new int[] {EOS}, -1);
    List<Sequence> beams = new ArrayList<>(List.of(new Sequence(0, prompt)));
    long nextId = 1;
    while (true) {
      float[] rows = new float[beams.size() * VOCAB];
      for (int b = 0; b < beams.size(); b++) {
        float[] lp = toyLogprobs(beams.get(b).tokenIds(), salt, minNew, 1);
        System.arraycopy(lp, 0, rows, b * VOCAB, VOCAB);
      }
      BeamSearch.Step step = search.step(beams, rows, 0, VOCAB, null);
      if (step.done()) {
        break;
      }
      List<Sequence> next = new ArrayList<>();
      for (BeamSearch.Continuation c : step.running()) {
        Sequence child = beams.get(c.parent()).fork(nextId++);
        child.appendToken(c.token(), c.logprob());
        next.add(child);
      }
      beams = next;
    }
    List<BeamSearch.Hypothesis> best = search.best(numBeams);
    return new Result(
        best.stream().map(BeamSearch.Hypothesis::tokens).toList(),
        best.stream().mapToDouble(BeamSearch.Hypothesis::score).toArray());
  }

  /** HuggingFace's algorithm, batch size 1, with its fixed-size arrays and -1e9 masks. */
  private static Result runHuggingFaceStyle(
      int numBeams, double lengthPenalty, boolean early, int maxNew, int minNew, long salt) {
    int promptLen = 1;
    int maxLength = promptLen + maxNew;
    int keep = 2 * numBeams;
    int[][] running = new int[numBeams][maxLength];
    double[] runningScores = new double[numBeams];
    Arrays.fill(runningScores, 1, numBeams, -1e9);
    int[][] sequences = new int[numBeams][maxLength];
    int[] seqLengths = new int[numBeams];
    double[] beamScores = new double[numBeams];
    Arrays.fill(beamScores, -1e9);
    boolean[] sentFinished = new boolean[numBeams];
    boolean heuristicUnsatisfied = true;
    int curLen = promptLen;
    while (true) {
      // accumulated log-probs over (beam, vocab), flattened; topk by value, ties by index
      double[] acc = new double[numBeams * VOCAB];
      for (int b = 0; b < numBeams; b++) {
        float[] lp = toyLogprobs(Arrays.copyOf(running[b], curLen), salt, minNew, promptLen);
        for (int v = 0; v < VOCAB; v++) {
          acc[b * VOCAB + v] = runningScores[b] + lp[v];
        }
      }
      Integer[] order = new Integer[acc.length];
      Arrays.setAll(order, i -> i);
      Arrays.sort(order, (x, y) -> acc[y] != acc[x] ? Double.compare(acc[y], acc[x]) : x - y);
      int[][] topSeqs = new int[keep][];
      double[] topScores = new double[keep];
      boolean[] hits = new boolean[keep];
      for (int k = 0; k < keep; k++) {
        int beam = order[k] / VOCAB;
        int token = order[k] % VOCAB;
        topSeqs[k] = running[beam].clone();
        topSeqs[k][curLen] = token;
        topScores[k] = acc[order[k]];
        hits[k] = token == EOS || curLen + 1 >= maxLength;
      }
      // running beams for the next iteration: top numBeams of (score - 1e9 * hits)
      double[] masked = new double[keep];
      for (int k = 0; k < keep; k++) {
        masked[k] = topScores[k] + (hits[k] ? -1e9 : 0);
      }
      Integer[] runOrder = new Integer[keep];
      Arrays.setAll(runOrder, i -> i);
      Arrays.sort(runOrder, (x, y) -> Double.compare(masked[y], masked[x]));
      int[][] nextRunning = new int[numBeams][];
      double[] nextScores = new double[numBeams];
      for (int b = 0; b < numBeams; b++) {
        nextRunning[b] = topSeqs[runOrder[b]];
        nextScores[b] = masked[runOrder[b]];
      }
      // finished beams: merge previous with the newly finished among the first numBeams
      boolean full = true;
      for (boolean f : sentFinished) {
        full &= f;
      }
      double[] candidateScores = new double[keep];
      boolean[] justFinished = new boolean[keep];
      for (int k = 0; k < keep; k++) {
        justFinished[k] = hits[k] && k < numBeams;
        double s = topScores[k] / Math.pow(curLen + 1 - promptLen, lengthPenalty);
        if (full && early) {
          s += -1e9;
        }
        if (!heuristicUnsatisfied) {
          s += -1e9;
        }
        if (!justFinished[k]) {
          s += -1e9;
        }
        candidateScores[k] = s;
      }
      int total = numBeams + keep;
      double[] mergedScores = new double[total];
      int[][] mergedSeqs = new int[total][];
      int[] mergedLengths = new int[total];
      boolean[] mergedFinished = new boolean[total];
      for (int i = 0; i < numBeams; i++) {
        mergedScores[i] = beamScores[i];
        mergedSeqs[i] = sequences[i];
        mergedLengths[i] = seqLengths[i];
        mergedFinished[i] = sentFinished[i];
      }
      for (int k = 0; k < keep; k++) {
        mergedScores[numBeams + k] = candidateScores[k];
        mergedSeqs[numBeams + k] = topSeqs[k];
        mergedLengths[numBeams + k] = curLen + 1;
        mergedFinished[numBeams + k] = justFinished[k];
      }
      Integer[] mergedOrder = new Integer[total];
      Arrays.setAll(mergedOrder, i -> i);
      Arrays.sort(mergedOrder, (x, y) -> Double.compare(mergedScores[y], mergedScores[x]));
      for (int i = 0; i < numBeams; i++) {
        int m = mergedOrder[i];
        beamScores[i] = mergedScores[m];
        sequences[i] = mergedSeqs[m];
        seqLengths[i] = mergedLengths[m];
        sentFinished[i] = mergedFinished[m];
      }
      running = nextRunning;
      runningScores = nextScores;
      curLen++;
      // early-stop heuristic and loop condition
      double bestRunning = runningScores[0] / Math.pow(curLen - promptLen, lengthPenalty);
      double worst = Arrays.stream(beamScores).min().orElseThrow();
      boolean anyBetter = false;
      for (int i = 0; i < numBeams; i++) {
        anyBetter |= bestRunning > (sentFinished[i] ? worst : -1e9);
      }
      heuristicUnsatisfied &= anyBetter;
      boolean allFinished = true;
      for (boolean f : sentFinished) {
        allFinished &= f;
      }
      boolean allHit = true;
      for (boolean h : hits) {
        allHit &= h;
      }
      if (!(heuristicUnsatisfied && !(allFinished && early) && !allHit)) {
        break;
      }
    }
    List<int[]> seqs = new ArrayList<>();
    for (int i = 0; i < numBeams; i++) {
      seqs.add(Arrays.copyOf(sequences[i], seqLengths[i]));
    }
    return new Result(seqs, beamScores);
  }

  @ParameterizedTest
  @CsvSource({
    "4, 1.0, true, 12, 6, 1",
    "4, 1.0, false, 12, 0, 2",
    "3, 0.6, true, 9, 2, 3",
    "2, 2.0, false, 15, 3, 4",
    "5, -0.5, true, 8, 1, 5",
    "4, 1.0, true, 12, 0, 6",
    "4, 1.0, false, 20, 0, 7"
  })
  void matchesHuggingFaceStep(
      int numBeams, double lengthPenalty, boolean early, int maxNew, int minNew, long salt) {
    Result ours = runEngineStyle(numBeams, lengthPenalty, early, maxNew, minNew, salt);
    Result reference = runHuggingFaceStyle(numBeams, lengthPenalty, early, maxNew, minNew, salt);
    assertEquals(reference.sequences().size(), ours.sequences().size());
    for (int i = 0; i < numBeams; i++) {
      assertArrayEquals(reference.sequences().get(i), ours.sequences().get(i), "hypothesis " + i);
      assertEquals(reference.scores()[i], ours.scores()[i], 1e-6, "score " + i);
    }
  }
}
