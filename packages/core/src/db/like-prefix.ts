/** `value` as a LIKE pattern (default escape `\`) that matches exactly the strings starting with it. */
export function likePrefix(value: string): string {
  return `${value.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
