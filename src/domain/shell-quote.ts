/* Suggested commands are pasted into a shell by people in a hurry: every word that came from outside
 * (a host name imported from someone's known_hosts, `[web1]:2222`, which zsh globs) is quoted. */

/** A word a POSIX shell reads back as exactly `word`: bare when it is plainly safe, else in single quotes. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9@%+=:,./_-]+$/.test(word)) return word
  return `'${word.replace(/'/g, `'\\''`)}'`
}

/** `hostkeys accept 'HOST' --reason "..."`: a command line whose every argument is quoted. */
export function hostkeysCommand(...words: readonly string[]): string {
  return ['hostkeys', ...words.map(shellQuote)].join(' ')
}
