package dev.tandem.core.model.bart;

/**
 * Marian's fixed position table, computed as HuggingFace's {@code
 * MarianSinusoidalPositionalEmbedding.create_weight}: in double precision, angle(pos, j) = pos /
 * 10000^(2 * (j / 2) / dim); the sines of the even j fill the first ceil(dim / 2) columns, the
 * cosines of the odd j the rest; then rounded to float32.
 */
final class MarianSinusoids {

  private MarianSinusoids() {}

  /** (numPositions, dim) row-major. */
  static float[] table(int numPositions, int dim) {
    float[] table = new float[numPositions * dim];
    int sinColumns = (dim + 1) / 2; // HuggingFace's "sentinel"
    for (int pos = 0; pos < numPositions; pos++) {
      int row = pos * dim;
      for (int j = 0; j < dim; j++) {
        double angle = pos / Math.pow(10000, 2 * (j / 2) / (double) dim);
        if (j % 2 == 0) {
          table[row + j / 2] = (float) Math.sin(angle);
        } else {
          table[row + sinColumns + j / 2] = (float) Math.cos(angle);
        }
      }
    }
    return table;
  }
}
