-- 0011_blob_parts: a blob written from a file (a large attachment, spooled while it
-- downloaded) is stored as consecutive pieces of its zstd bytes, so that no insert holds it
-- whole (SQLite builds a row in memory: a blob column before `raw_len` cannot be streamed).
-- Its `blobs` row has an empty `data` (no blob of the codec is empty: a zstd frame never is)
-- and its real `raw_len`; its pieces, in `seq` order, concatenated, are its data. Deleting the
-- blob deletes its pieces.
CREATE TABLE blob_parts (
    hash TEXT    NOT NULL REFERENCES blobs (hash) ON DELETE CASCADE,
    seq  INTEGER NOT NULL,
    data BLOB    NOT NULL,
    PRIMARY KEY (hash, seq)
);
