-- What pricing reads to know its in-memory index and catalogue are current (crates/app/src/offers.rs):
-- one counter per cache, moved in the writing transaction by every row that changes in a
-- table the cache is built from (SQLite's triggers are per row; each move is one small
-- in-page update). Pricing reads the two counters before it prices and rebuilds first when
-- one moved, so a write committed by any process is priced by the next pricing of every
-- process on the file. PostgreSQL's 0014 does the same per statement.
CREATE TABLE pricing_versions (
  name TEXT PRIMARY KEY,
  version BIGINT NOT NULL
);
INSERT INTO pricing_versions (name, version) VALUES ('offers', 0), ('catalog', 0);
CREATE TRIGGER promotions_pricing_version_insert AFTER INSERT ON promotions
  BEGIN UPDATE pricing_versions SET version = version + 1 WHERE name = 'offers'; END;
CREATE TRIGGER promotions_pricing_version_update AFTER UPDATE ON promotions
  BEGIN UPDATE pricing_versions SET version = version + 1 WHERE name = 'offers'; END;
CREATE TRIGGER promotions_pricing_version_delete AFTER DELETE ON promotions
  BEGIN UPDATE pricing_versions SET version = version + 1 WHERE name = 'offers'; END;
CREATE TRIGGER promotion_customers_pricing_version_insert AFTER INSERT ON promotion_customers
  BEGIN UPDATE pricing_versions SET version = version + 1 WHERE name = 'offers'; END;
CREATE TRIGGER promotion_customers_pricing_version_update AFTER UPDATE ON promotion_customers
  BEGIN UPDATE pricing_versions SET version = version + 1 WHERE name = 'offers'; END;
CREATE TRIGGER promotion_customers_pricing_version_delete AFTER DELETE ON promotion_customers
  BEGIN UPDATE pricing_versions SET version = version + 1 WHERE name = 'offers'; END;
CREATE TRIGGER products_pricing_version_insert AFTER INSERT ON products
  BEGIN UPDATE pricing_versions SET version = version + 1 WHERE name = 'catalog'; END;
CREATE TRIGGER products_pricing_version_update AFTER UPDATE ON products
  BEGIN UPDATE pricing_versions SET version = version + 1 WHERE name = 'catalog'; END;
CREATE TRIGGER products_pricing_version_delete AFTER DELETE ON products
  BEGIN UPDATE pricing_versions SET version = version + 1 WHERE name = 'catalog'; END;
CREATE TRIGGER product_prices_pricing_version_insert AFTER INSERT ON product_prices
  BEGIN UPDATE pricing_versions SET version = version + 1 WHERE name = 'catalog'; END;
CREATE TRIGGER product_prices_pricing_version_update AFTER UPDATE ON product_prices
  BEGIN UPDATE pricing_versions SET version = version + 1 WHERE name = 'catalog'; END;
CREATE TRIGGER product_prices_pricing_version_delete AFTER DELETE ON product_prices
  BEGIN UPDATE pricing_versions SET version = version + 1 WHERE name = 'catalog'; END;
CREATE TRIGGER price_lists_pricing_version_insert AFTER INSERT ON price_lists
  BEGIN UPDATE pricing_versions SET version = version + 1 WHERE name = 'catalog'; END;
CREATE TRIGGER price_lists_pricing_version_update AFTER UPDATE ON price_lists
  BEGIN UPDATE pricing_versions SET version = version + 1 WHERE name = 'catalog'; END;
CREATE TRIGGER price_lists_pricing_version_delete AFTER DELETE ON price_lists
  BEGIN UPDATE pricing_versions SET version = version + 1 WHERE name = 'catalog'; END;
