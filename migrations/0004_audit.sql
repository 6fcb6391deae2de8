-- 0004: what each server offers (its banner and KEXINIT), kept once per distinct configuration, and
-- each key's verdict from the known-bad-key checks. Runs unchanged on PostgreSQL (>= 13) and on PGlite.
--
-- Growth: an unchanged night adds nothing here. A host's configuration is a column of its row (updated
-- with the rest of it); a change adds one host_config_changes row. A key is checked once, when first
-- served (or when the checks gain a version), and its verdict kept with it.

-- server_configs: each distinct configuration once (most of a fleet shares a handful).
--   digest     : SHA-256 over the banner and every name-list, in order (domain/server-config.ts)
--   hassh      : Salesforce's HASSH server fingerprint, for matching what other tools log
--   algorithms : the KEXINIT name-lists as JSON (kex, serverHostKey, ciphers/macs/compression both ways)
CREATE TABLE server_configs (
  id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  digest      bytea NOT NULL UNIQUE,
  banner      text,
  hassh       text NOT NULL,
  algorithms  jsonb NOT NULL,
  first_seen  timestamptz NOT NULL
);

-- hosts.config_id: the configuration the last scan that read the host's KEXINIT saw.
ALTER TABLE hosts ADD COLUMN config_id integer REFERENCES server_configs (id);

-- host_config_changes: when a host took each configuration (its first one included), for the history.
CREATE TABLE host_config_changes (
  host_id    integer NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
  config_id  integer NOT NULL REFERENCES server_configs (id),
  since      timestamptz NOT NULL,
  scan_id    integer,
  PRIMARY KEY (host_id, since)
);

-- keys: the known-bad-key verdict.
--   checks_version : the version of the per-key checks (analysis/bad-keys.ts) that last ran on it; 0 never
--   compromised    : the check that found it bad ('fermat', 'roca', 'shared-prime', 'blocklist', ...), or null
--   compromised_detail : what the check found, in words
--   gcd_checked    : an RSA key whose modulus was compared with every other one ever seen (batch GCD)
ALTER TABLE keys ADD COLUMN checks_version integer NOT NULL DEFAULT 0;
ALTER TABLE keys ADD COLUMN compromised text;
ALTER TABLE keys ADD COLUMN compromised_detail text;
ALTER TABLE keys ADD COLUMN gcd_checked boolean NOT NULL DEFAULT false;
-- The keys a batch GCD has not compared yet: few on any night, found without reading the table.
CREATE INDEX keys_gcd_pending ON keys (id) WHERE NOT gcd_checked AND type = 'ssh-rsa';
