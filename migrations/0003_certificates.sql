-- 0003: host certificates (PROTOCOL.certkeys) a scan saw, so the history shows renewals and a change
-- of signing CA. Runs unchanged on PostgreSQL (>= 13) and on PGlite.

-- certificates: one row per distinct certificate at a host, updated in place while it is served.
--   key_id    : the certified (plain) key, the same row its sightings use
--   ca_key_id : the CA that signed it (a keys row too; cert_authorities says which CAs are trusted)
--   sha256    : SHA-256 of the certificate blob, its identity at the host
--   family    : the certified key's family; the last certificate per (host, family) is the one a new
--               one is compared with (cert_renewed, cert_removed)
--   trusted   : its CA is the host's CA for the family: the first certificate's, or one an accept
--               (`hostkeys accept`) took. The last trusted certificate's CA is what ca_changed compares
--               with, so a certificate from another CA stays ca_changed until accepted, as a key does.
CREATE TABLE certificates (
  id             integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  host_id        integer NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
  key_id         integer NOT NULL REFERENCES keys (id),
  ca_key_id      integer NOT NULL REFERENCES keys (id),
  family         text NOT NULL,
  sha256         bytea NOT NULL,
  cert_type      text NOT NULL,
  kind           text NOT NULL CHECK (kind IN ('host', 'user')),
  serial         numeric(20, 0) NOT NULL,
  key_identity   text NOT NULL,
  principals     text[] NOT NULL,
  valid_after    timestamptz,
  valid_before   timestamptz,
  signature_valid boolean NOT NULL,
  trusted        boolean NOT NULL,
  blob           bytea NOT NULL,
  first_seen     timestamptz NOT NULL,
  last_seen      timestamptz NOT NULL,
  first_scan_id  integer,
  last_scan_id   integer,
  -- the family the last scan that reached the host served without a certificate: cert_removed once
  removed_at     timestamptz,
  UNIQUE (host_id, sha256)
);
-- `lookup SHA256:<CA>`: every host whose certificate this CA signed.
CREATE INDEX certificates_ca ON certificates (ca_key_id);
