/**
 * Quotes user input for a message: control characters (newlines, ANSI escape
 * codes) are shown escaped instead of being sent to the terminal, and long
 * input is cut short.
 */
export function quoteInput(text: string, max = 80): string {
  const shown = text.length > max ? `${text.slice(0, max)}...` : text;
  return `'${escapeControl(shown)}'${text.length > max ? ` (${text.length} characters)` : ""}`;
}

/** Control characters as visible escapes (`\n`, `\x1b`), so text never drives the terminal. */
export function escapeControl(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
}
