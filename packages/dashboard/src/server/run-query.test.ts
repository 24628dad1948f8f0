import { describe, expect, it } from "vitest";
import { HttpError } from "./http-error.js";
import { parseRunQuery } from "./run-query.js";

const parse = (query: string) => parseRunQuery(new URLSearchParams(query));

describe("the runs list's query parameters", () => {
  it("default to the 50 newest runs, unfiltered", () => {
    expect(parse("")).toEqual({ pipeline: undefined, status: undefined, stack: undefined, limit: 50, offset: 0 });
  });

  it("take filters and a page", () => {
    expect(parse("pipeline=train&status=failed&stack=aws&limit=20&offset=40&token=x")).toEqual({
      pipeline: "train",
      status: "failed",
      stack: "aws",
      limit: 20,
      offset: 40,
    });
  });

  it.each([
    ["limit=0", "Invalid limit '0': expected a whole number from 1 to 500"],
    ["limit=501", "Invalid limit '501'"],
    ["limit=2.5", "Invalid limit '2.5'"],
    ["offset=-3", "Invalid offset '-3'"],
    ["status=done", "Invalid status 'done'"],
    ["sort=name", "Unknown query parameter 'sort'"],
    ["stack=a&stack=b", "Query parameter 'stack' is given more than once"],
  ])("reject %s with a 400 naming it", (query, message) => {
    let error: unknown;
    try {
      parse(query);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(400);
    expect((error as HttpError).message).toContain(message);
  });
});
