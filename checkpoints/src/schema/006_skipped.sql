-- Version 6: what a run could not store as it came.
-- `skipped`: records left out because their header had no identifier or no
-- datestamp (the rest of their page is stored). `transcoded`: pages that
-- came in an encoding other than UTF-8 (declared by the XML declaration,
-- the HTTP header or a byte-order mark) and were decoded as such.
ALTER TABLE run ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run ADD COLUMN transcoded INTEGER NOT NULL DEFAULT 0;
