-- What pricing reads to know its in-memory index and catalogue are current (crates/app/src/offers.rs):
-- one counter per cache, moved in the writing transaction by every statement that changes a
-- row the cache is built from. Pricing reads the two counters (one indexed read) before it
-- prices and rebuilds first when one moved, so a write committed on any node is priced by
-- the next pricing on every node. A counter moves at commit and never for a rolled-back
-- write, which a sequence would not give.
--
-- One row per counter: a promotion write and a catalogue write do not wait for each other.
-- Checkouts write none of these tables, so they never take the rows' locks.
CREATE TABLE pricing_versions (
  name TEXT PRIMARY KEY,
  version BIGINT NOT NULL
);
INSERT INTO pricing_versions (name, version) VALUES ('offers', 0), ('catalog', 0);

CREATE FUNCTION offerline_bump_pricing_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE pricing_versions SET version = version + 1 WHERE name = TG_ARGV[0];
  RETURN NULL;
END $$;

DO $$
DECLARE t TEXT[];
BEGIN
  FOREACH t SLICE 1 IN ARRAY ARRAY[
    ['promotions', 'offers'], ['promotion_customers', 'offers'],
    ['products', 'catalog'], ['product_prices', 'catalog'], ['price_lists', 'catalog']
  ] LOOP
    EXECUTE format(
      'CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I '
      'FOR EACH STATEMENT EXECUTE FUNCTION offerline_bump_pricing_version(%L)', t[1] || '_pricing_version', t[1], t[2]);
    EXECUTE format(
      'CREATE TRIGGER %I AFTER TRUNCATE ON %I '
      'FOR EACH STATEMENT EXECUTE FUNCTION offerline_bump_pricing_version(%L)', t[1] || '_pricing_version_truncate', t[1], t[2]);
  END LOOP;
END $$;
