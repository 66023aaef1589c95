package dev.tandem.core.model;

/** Outputs a model run is compared with: HuggingFace's fixtures or the reference forward. */
interface Expected {

  int dModel();

  int vocab();

  /** Encoder hidden state j of token t of example b. */
  float hidden(int b, int t, int j);

  /** Teacher-forced logit v at decoder position t of example b. */
  float logit(int b, int t, int v);

  /** The reference forward's outputs for the given inputs, computed now. */
  static Expected fromReference(ReferenceModel reference, int[][] inputs, int[][] decoderInputs) {
    float[][][] hidden = new float[inputs.length][][];
    float[][][] logits = new float[inputs.length][][];
    for (int b = 0; b < inputs.length; b++) {
      hidden[b] = reference.encode(inputs[b]);
      logits[b] = reference.decode(decoderInputs[b], hidden[b]);
    }
    return new Expected() {
      @Override
      public int dModel() {
        return hidden[0][0].length;
      }

      @Override
      public int vocab() {
        return logits[0][0].length;
      }

      @Override
      public float hidden(int b, int t, int j) {
        return hidden[b][t][j];
      }

      @Override
      public float logit(int b, int t, int v) {
        return logits[b][t][v];
      }
    };
  }
}
