-- PostgreSQL's 0006 adds trigger-maintained list counts for its big ledger tables. SQLite
-- counts a million index entries in a few milliseconds (COUNT(*) over the narrowest index,
-- in process, no round trip), so it keeps plain COUNT(*); this file only keeps the two
-- engines' migration versions in step.
SELECT 1;
