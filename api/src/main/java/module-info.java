/**
 * Tandem's service provider interfaces and the value types they exchange. Depends on {@code
 * java.base} only, so that a plugin compiled against it drags nothing else in.
 */
module dev.tandem.api {
  exports dev.tandem.api;
  exports dev.tandem.api.sequence;
  exports dev.tandem.api.block;
  exports dev.tandem.api.backend;
}
