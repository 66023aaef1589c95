package dev.tandem.backend.testkit;

import dev.tandem.api.backend.AttentionBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInstance;

/**
 * A backend under test beside the CPU backend, both opened once per test class: the base of the
 * test kit's parity tests. Each backend's test module names the backend to open.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class BackendParityTest {

  private AttentionBackend underTest;
  private AttentionBackend cpu;

  /** The backend to compare with the CPU backend, opened with {@link BackendParity#open}. */
  protected abstract AttentionBackend openBackendUnderTest();

  /** Opens both backends once; while either is unavailable, every test is skipped with why. */
  @BeforeEach
  void open() {
    if (underTest == null) {
      underTest = openBackendUnderTest();
    }
    if (cpu == null) {
      cpu = BackendParity.cpu();
    }
  }

  @AfterAll
  void close() {
    if (underTest != null) {
      underTest.close();
    }
    if (cpu != null) {
      cpu.close();
    }
  }

  protected AttentionBackend underTest() {
    return underTest;
  }

  protected AttentionBackend cpu() {
    return cpu;
  }
}
