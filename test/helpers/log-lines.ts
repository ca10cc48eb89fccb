// Checks on raw log lines (docs/operations.md "Logs"): JSON.parse keeps the last of two equal
// keys silently, so a repeated key — pino writes one when a child binding and a line both carry
// it — is found on the text itself; and the one style of `event` values.

/** The keys that appear twice in one object of a JSON text, e.g. ['role'] for {"role":1,"role":2}. */
export function duplicateKeys (text: string): string[] {
  const scopes: Array<Set<string>> = []
  const dup: string[] = []
  let i = 0
  while (i < text.length) {
    const ch = text[i]!
    if (ch === '{') scopes.push(new Set())
    else if (ch === '}') scopes.pop()
    else if (ch === '"') {
      const start = ++i
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1
      const str = text.slice(start, i)
      let j = i + 1
      while (text[j] === ' ') j++
      const scope = scopes[scopes.length - 1]
      if (text[j] === ':' && scope !== undefined) {
        if (scope.has(str)) dup.push(str)
        scope.add(str)
      }
    }
    i++
  }
  return dup
}

/** `event` values are snake_case words, or the numbers of KB Q137309 (700, 701). */
export function eventStyleOk (event: unknown): boolean {
  return event === undefined || typeof event === 'number' || (typeof event === 'string' && /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/.test(event))
}
