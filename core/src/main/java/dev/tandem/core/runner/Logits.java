package dev.tandem.core.runner;

/**
 * A step's logits on the host: {@link #rows()} rows of {@link #vocabSize()} floats, row-major in
 * one reusable array. The runner refills the same object every step (it grows only when a step has
 * more rows than any before), so read or copy the values before the next step.
 */
public final class Logits {

  private final int vocabSize;
  private float[] values;
  private int rows;

  Logits(int vocabSize, int capacityRows) {
    this.vocabSize = vocabSize;
    this.values = new float[Math.multiplyExact(vocabSize, capacityRows)];
  }

  public int rows() {
    return rows;
  }

  public int vocabSize() {
    return vocabSize;
  }

  public float get(int row, int token) {
    return values[offset(row) + token];
  }

  /** Overwrites one value, e.g. for a logits processor that masks a token. */
  public void set(int row, int token, float value) {
    values[offset(row) + token] = value;
  }

  /**
   * The backing array: row r occupies [{@link #offset}(r), offset(r) + vocabSize). Valid until the
   * next step; for samplers that work in place.
   */
  public float[] array() {
    return values;
  }

  /** Start of row {@code row} in {@link #array()}. */
  public int offset(int row) {
    if (row < 0 || row >= rows) {
      throw new IndexOutOfBoundsException("row " + row + " of " + rows);
    }
    return row * vocabSize;
  }

  /** The first index of the largest value in the row, as torch.argmax. */
  public int argmax(int row) {
    int start = offset(row);
    int best = 0;
    float bestValue = values[start];
    for (int token = 1; token < vocabSize; token++) {
      if (values[start + token] > bestValue) {
        bestValue = values[start + token];
        best = token;
      }
    }
    return best;
  }

  /** Makes room for {@code newRows} rows and sets the row count; old values are not kept. */
  void resize(int newRows) {
    long needed = (long) newRows * vocabSize;
    if (needed > values.length) {
      values = new float[Math.toIntExact(needed)];
    }
    rows = newRows;
  }
}
