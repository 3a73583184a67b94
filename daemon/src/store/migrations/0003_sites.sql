-- 0003_sites: sites added through the control API (`assetark sites add`), which must
-- survive a restart. Sites of the config file are never stored here.
-- Applied inside one transaction by store/sqlite/migrate.rs, which then sets user_version = 3.
-- Timestamps are INTEGER milliseconds since the Unix epoch (UTC), as in 0001.
--
-- token_source says where the API token comes from:
--   'env'    token_ref is the name of an environment variable of the daemon;
--   'file'   token_ref is the absolute path of a file holding the token;
--   'inline' the token itself, sealed with ChaCha20-Poly1305 under the daemon's key file:
--            token_nonce (12 random bytes, fresh per secret) and token_sealed (ciphertext +
--            tag). The plaintext is never written anywhere.
CREATE TABLE sites (
    name         TEXT    PRIMARY KEY,
    flavor       TEXT    NOT NULL,
    api_url      TEXT    NOT NULL,
    site_url     TEXT    NOT NULL,
    email        TEXT    NOT NULL,
    token_source TEXT    NOT NULL CHECK (token_source IN ('env', 'file', 'inline')),
    token_ref    TEXT,
    token_nonce  BLOB,
    token_sealed BLOB,
    created_at   INTEGER NOT NULL,
    CHECK ((token_source = 'inline') = (token_nonce IS NOT NULL AND token_sealed IS NOT NULL)),
    CHECK ((token_source = 'inline') = (token_ref IS NULL))
) WITHOUT ROWID;
