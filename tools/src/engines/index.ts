/**
 * Real engines for integration tests. Call these in `beforeAll` (and their
 * `stop()` in `afterAll`); unit tests never touch them.
 */
export * from "./chromium.js";
export * from "./docker.js";
export * from "./moto.js";
export * from "./registry.js";
