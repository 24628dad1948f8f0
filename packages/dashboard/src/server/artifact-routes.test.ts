import { describe, expect, it } from "vitest";
import { parseCsv } from "./artifact-routes.js";

describe("parseCsv", () => {
  it("reads quoted cells, doubled quotes and CRLF rows", () => {
    expect(parseCsv('a,b\r\n1,"x, ""y"""\n2,\n', 10)).toEqual({
      rows: [
        ["a", "b"],
        ["1", 'x, "y"'],
        ["2", ""],
      ],
      more: false,
    });
  });

  it("stops after the rows asked for and says there are more", () => {
    const text = Array.from({ length: 500 }, (_, i) => `${i},row`).join("\n");
    const { rows, more } = parseCsv(text, 201);
    expect(rows).toHaveLength(201);
    expect(rows[200]).toEqual(["200", "row"]);
    expect(more).toBe(true);
    expect(parseCsv("1\n2", 2)).toEqual({ rows: [["1"], ["2"]], more: false });
  });
});
