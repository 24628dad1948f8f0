// The SQLite driver built for another Node.js (nvm switch, copied
// node_modules) is reported as that, with the command that fixes it, never
// as a damaged store.
import { describe, expect, it } from "vitest";
import { nativeModuleError } from "../src/store/database.js";

describe("a native SQLite driver built for another Node.js", () => {
  it("names both module versions and the rebuild command", () => {
    const error = Object.assign(
      new Error(
        "The module '/p/node_modules/better-sqlite3/build/Release/better_sqlite3.node'\nwas compiled against a different Node.js version using\nNODE_MODULE_VERSION 115. This version of Node.js requires\nNODE_MODULE_VERSION 127. Please try re-compiling or re-installing",
      ),
      { code: "ERR_DLOPEN_FAILED" },
    );
    const reported = nativeModuleError(error)!;
    expect(reported.message).toContain("module version 115");
    expect(reported.message).toContain("needs 127");
    expect(reported.message).not.toMatch(/damaged/);
    expect(reported.hint).toContain("npm rebuild better-sqlite3");
  });

  it("leaves other errors alone", () => {
    expect(nativeModuleError(new Error("SQLITE_NOTADB: file is not a database"))).toBeUndefined();
  });
});
