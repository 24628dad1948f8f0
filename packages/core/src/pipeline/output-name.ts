/**
 * What an output may be called. An output name is a folder name in the
 * artifact store (`runs/<run>/<step>/<output>/`), so it may hold no `/`, `\`
 * or `.`: `..` would reach another run's artifacts, and `logs.txt` or
 * `step.json` would replace the step's log or record.
 */
export const OUTPUT_NAME: RegExp = /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/;

/** The rule of {@link OUTPUT_NAME}, as an error message says it. */
export const OUTPUT_NAME_RULE = "use letters, digits, '_' or '-' (up to 128), starting with a letter or '_'";
