/** The engine loop: requests, scheduler with preemption, outputs, sync and async APIs. */
package dev.tandem.core.engine;
