package dev.tandem.api.backend;

import java.util.Arrays;

/**
 * How {@link AttentionBackend#sample} chooses the token of each logits row, in vLLM's terms: row r
 * has temperature (0: greedy), top-k (-1 or 0: off), top-p (1: off), min-p (0: off), and the
 * uniform number in [0, 1) its sequence's generator drew for this token. Filled by the engine once
 * per step and reused; not thread-safe.
 */
public final class SamplingRows {

  /** Values per row in {@link #packed()}. */
  public static final int FIELDS = 5;

  private double[] values = new double[0]; // (rows, FIELDS)
  private int rows;

  /** Forgets every row; the storage is kept. */
  public void clear() {
    rows = 0;
  }

  /** Appends a row. */
  public void add(double temperature, int topK, double topP, double minP, double uniform) {
    if (!(temperature >= 0) || !(topP > 0 && topP <= 1) || !(minP >= 0 && minP <= 1)) {
      throw new IllegalArgumentException(
          "row "
              + rows
              + ": temperature="
              + temperature
              + " top_p="
              + topP
              + " min_p="
              + minP
              + ": need temperature >= 0, top_p in (0, 1], min_p in [0, 1]");
    }
    if (!(uniform >= 0 && uniform < 1)) {
      throw new IllegalArgumentException("row " + rows + ": uniform=" + uniform + " not in [0, 1)");
    }
    if ((rows + 1) * FIELDS > values.length) {
      values = Arrays.copyOf(values, Math.max(2 * values.length, FIELDS * 8));
    }
    int at = rows++ * FIELDS;
    values[at] = temperature;
    values[at + 1] = Math.max(0, topK);
    values[at + 2] = topP;
    values[at + 3] = minP;
    values[at + 4] = uniform;
  }

  /**
   * For a backend's {@code sample} of {@code n} rows: these settings must cover them.
   *
   * @param backend the backend's name, for the message
   */
  public void requireRows(int n, String backend) {
    if (rows < n) {
      throw new IllegalArgumentException(
          backend + ": sample of " + n + " rows with settings for " + rows);
    }
  }

  public int rows() {
    return rows;
  }

  /**
   * The rows as doubles, {@link #FIELDS} per row: temperature, top-k (0: off), top-p, min-p,
   * uniform; valid up to {@code rows() * FIELDS}.
   */
  public double[] packed() {
    return values;
  }

  public double temperature(int row) {
    return values[row * FIELDS];
  }

  public int topK(int row) {
    return (int) values[row * FIELDS + 1];
  }

  public double topP(int row) {
    return values[row * FIELDS + 2];
  }

  public double minP(int row) {
    return values[row * FIELDS + 3];
  }

  public double uniform(int row) {
    return values[row * FIELDS + 4];
  }
}
