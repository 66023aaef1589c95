package dev.tandem.backend.opencl;

/**
 * The arguments of the next op {@link DeviceOps} queues, set by the caller right before {@code
 * launch}: {@code launch} copies them into the op's pass (see {@link DeviceState}), so they may be
 * changed for the next op at once. What each means depends on the op (documented on its code in
 * {@link DeviceKernel}).
 */
final class LaunchArgs {
  int out;
  int in0;
  int in1;
  int in2;
  int rows;
  int cols;
  int inner;
  int mode;
  float factor;
}
