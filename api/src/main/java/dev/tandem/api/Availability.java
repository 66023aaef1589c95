package dev.tandem.api;

import java.util.Objects;

/**
 * Whether a provider can be used on this machine, and if not, why not in words a user can act on
 * ("no CUDA driver: libcuda.so.1 not found").
 *
 * @param available true when {@link PluginProvider#create} is expected to succeed
 * @param reason why the provider is unavailable; empty when it is available
 */
public record Availability(boolean available, String reason) {

  public Availability {
    Objects.requireNonNull(reason, "reason is null");
    if (!available && reason.isBlank()) {
      throw new IllegalArgumentException("an unavailable provider must say why");
    }
  }

  /** The provider can be used. */
  public static final Availability AVAILABLE = new Availability(true, "");

  public static Availability unavailable(String reason) {
    return new Availability(false, reason);
  }

  /** The reason placeholder providers give until their module is implemented. */
  public static Availability notImplementedYet() {
    return unavailable("not implemented yet");
  }
}
