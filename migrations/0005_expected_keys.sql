-- 0005: what a host's keys are said to be by someone other than the network: its owner
-- (`hostkeys expect`) or the host itself (`hostkeys self-report`). Every scan compares what it
-- collected with these statements (oob_mismatch). Runs unchanged on PostgreSQL (>= 13) and on PGlite.

-- key_statements: one row per statement. The newest per (host, source) is in force; the one it
-- replaced stays, with superseded_at set, as the history of what was said.
--   host_id    : the host it is about; null while the history has no such host yet (`expect` of a
--                name no scan has reached): the first scan that names it (identity, alias or address,
--                on the port of host_name) binds it
--   host_name  : the identity it was stated for, as hosts.name writes it (`name`, `[name]:port`)
--   source     : expect (the owner said so, through whatever channel they used) | self-report (the
--                host read its own key files)
--   stated_by  : who or what made it: `expect by alice from keys.txt`, `self-report by root on web1`
CREATE TABLE key_statements (
  id             integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  host_id        integer REFERENCES hosts (id) ON DELETE CASCADE,
  host_name      text NOT NULL,
  source         text NOT NULL CHECK (source IN ('expect', 'self-report')),
  stated_at      timestamptz NOT NULL,
  stated_by      text NOT NULL,
  superseded_at  timestamptz
);
-- A scan reads the statements in force for a chunk's host ids, and the unbound ones by name.
CREATE INDEX key_statements_host ON key_statements (host_id) WHERE superseded_at IS NULL;
CREATE INDEX key_statements_unbound ON key_statements (host_name) WHERE superseded_at IS NULL AND host_id IS NULL;

-- stated_keys: the keys one statement lists.
--   family      : ed25519, ecdsa, rsa, dsa, ed25519-sk, ecdsa-sk; a statement covers the families it lists
--   key_type    : the key's type name when the statement gave it (a .pub or known_hosts line); null for
--                 `ssh-keygen -l` output, which names only the family (`(ECDSA)`)
--   bits        : as stated (`ssh-keygen -l`'s first field) or read from the key
--   digest_type : sha256 | md5: the fingerprint as stated. `ssh-keygen -l -E md5` output gives only
--                 MD5; a full key gives SHA-256 (its MD5 is computed from blob when needed)
--   blob        : the full public key when the statement carried it; null for fingerprints alone
--   comment     : the line's comment or the file it came from, for messages
CREATE TABLE stated_keys (
  statement_id  integer NOT NULL REFERENCES key_statements (id) ON DELETE CASCADE,
  family        text NOT NULL,
  key_type      text,
  bits          integer,
  digest_type   text NOT NULL CHECK (digest_type IN ('sha256', 'md5')),
  digest        bytea NOT NULL,
  blob          bytea,
  comment       text
);
CREATE INDEX stated_keys_statement ON stated_keys (statement_id);
