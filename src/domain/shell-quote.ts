/** A word a POSIX shell reads back as exactly `word`: bare when it is plainly safe, else in single quotes.
 * Every command a finding suggests quotes its host with it: identities such as `[web1]:2222` hold glob
 * characters, and a name imported from a known_hosts file may hold anything. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9@%+=:,./_-]+$/.test(word)) return word
  return `'${word.replace(/'/g, `'\\''`)}'`
}
