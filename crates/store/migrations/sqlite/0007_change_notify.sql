-- PostgreSQL's 0007 adds triggers that NOTIFY the read caches of changes. SQLite needs no
-- schema for that: each server polls `PRAGMA data_version`, which moves whenever another
-- connection commits (crates/store/src/changes.rs). This file only keeps the two engines'
-- migration versions in step.
SELECT 1;
