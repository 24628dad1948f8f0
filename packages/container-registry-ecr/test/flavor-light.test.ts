import { expectLightFlavorModule } from "@stackyard/tools/testing";
import { describe, expect, it } from "vitest";

describe("the flavor module stays light", () => {
  it("imports neither the AWS SDK nor the implementation, directly or through its own files", () => {
    const seen = expectLightFlavorModule(new URL("../src/index.ts", import.meta.url), /^@aws-sdk\/|^@smithy\/|implementation/);
    expect(seen.size).toBeGreaterThanOrEqual(2);
  });
});
