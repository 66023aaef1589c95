package dev.tandem.api.block;

/** The two block pools a block manager keeps, named as in vLLM. */
public enum Device {
  /** The backend's device memory (a GPU, or host memory for the CPU backend): the KV cache. */
  GPU,
  /** Host swap space that preempted groups' blocks move to. */
  CPU
}
