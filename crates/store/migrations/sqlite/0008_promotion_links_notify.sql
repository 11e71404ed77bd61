-- PostgreSQL's 0008 adds change triggers to the promotion link tables and vouchers. SQLite
-- needs none: each server polls `PRAGMA data_version`, which moves whenever another
-- connection commits to any table (crates/store/src/changes.rs). This file only keeps the
-- two engines' migration versions in step.
SELECT 1;
