
/** RFC 1123 §2.1 host names (letters, digits, hyphens; underscores tolerated as real fleets use them). */
const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/

/** True for a syntactically valid DNS host name: labels of 1..63 octets, at most 253 in all. */
export function isHostName(text: string): boolean {
  const name = text.endsWith('.') ? text.slice(0, -1) : text
  if (name.length === 0 || name.length > 253) return false
  return name.split('.').every((label) => LABEL.test(label))
}

export { isIpLiteral } from '../domain/target.js'
