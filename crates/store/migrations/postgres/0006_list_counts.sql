-- Exact list counts and deep pages without scanning a million rows (see crates/store/src/list.rs).
--
-- `list_counts` holds signed row-count deltas of the big ledger tables, per (status, id
-- bucket of 4096 ids). Statement-level triggers append one delta row per (status, bucket) a
-- statement touched, so the counts are transactional (a reader's snapshot sees exactly the
-- committed rows, like COUNT(*) would) and writers never contend on a shared counter row.
-- Readers sum the deltas: the total is the count, and the running sum over buckets finds the
-- bucket a deep OFFSET starts in, so the page scan starts there. Readers fold the deltas
-- back into one row per (table, status, bucket) from time to time.
CREATE TABLE list_counts (
  tbl TEXT NOT NULL,
  status BIGINT NOT NULL,
  bucket BIGINT NOT NULL,
  delta BIGINT NOT NULL
);
CREATE INDEX list_counts_key ON list_counts (tbl, status, bucket);

CREATE FUNCTION list_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_ARGV[0] = 'status' THEN
    INSERT INTO list_counts (tbl, status, bucket, delta)
      SELECT TG_TABLE_NAME, status, id / 4096, COUNT(*) FROM new_rows GROUP BY status, id / 4096;
  ELSE
    INSERT INTO list_counts (tbl, status, bucket, delta)
      SELECT TG_TABLE_NAME, 0, id / 4096, COUNT(*) FROM new_rows GROUP BY id / 4096;
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION list_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_ARGV[0] = 'status' THEN
    INSERT INTO list_counts (tbl, status, bucket, delta)
      SELECT TG_TABLE_NAME, status, id / 4096, -COUNT(*) FROM old_rows GROUP BY status, id / 4096;
  ELSE
    INSERT INTO list_counts (tbl, status, bucket, delta)
      SELECT TG_TABLE_NAME, 0, id / 4096, -COUNT(*) FROM old_rows GROUP BY id / 4096;
  END IF;
  RETURN NULL;
END $$;

-- Only tables with a status: a row moving from one status to another.
CREATE FUNCTION list_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO list_counts (tbl, status, bucket, delta)
    SELECT TG_TABLE_NAME, s, b, SUM(d) FROM (
      SELECT o.status AS s, o.id / 4096 AS b, -1 AS d FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE n.status <> o.status
      UNION ALL
      SELECT n.status, n.id / 4096, 1 FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE n.status <> o.status
    ) c GROUP BY s, b HAVING SUM(d) <> 0;
  RETURN NULL;
END $$;

CREATE FUNCTION list_counts_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM list_counts WHERE tbl = TG_TABLE_NAME;
  RETURN NULL;
END $$;

CREATE TRIGGER order_items_counts_ins AFTER INSERT ON order_items
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION list_counts_insert('status');
CREATE TRIGGER order_items_counts_del AFTER DELETE ON order_items
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION list_counts_delete('status');
CREATE TRIGGER order_items_counts_upd AFTER UPDATE ON order_items
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION list_counts_update();
CREATE TRIGGER order_items_counts_trunc AFTER TRUNCATE ON order_items
  FOR EACH STATEMENT EXECUTE FUNCTION list_counts_truncate();

CREATE TRIGGER orders_counts_ins AFTER INSERT ON orders
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION list_counts_insert('status');
CREATE TRIGGER orders_counts_del AFTER DELETE ON orders
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION list_counts_delete('status');
CREATE TRIGGER orders_counts_upd AFTER UPDATE ON orders
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION list_counts_update();
CREATE TRIGGER orders_counts_trunc AFTER TRUNCATE ON orders
  FOR EACH STATEMENT EXECUTE FUNCTION list_counts_truncate();

CREATE TRIGGER discount_items_counts_ins AFTER INSERT ON discount_items
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION list_counts_insert('plain');
CREATE TRIGGER discount_items_counts_del AFTER DELETE ON discount_items
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION list_counts_delete('plain');
CREATE TRIGGER discount_items_counts_trunc AFTER TRUNCATE ON discount_items
  FOR EACH STATEMENT EXECUTE FUNCTION list_counts_truncate();

-- The rows already there.
INSERT INTO list_counts (tbl, status, bucket, delta)
  SELECT 'order_items', status, id / 4096, COUNT(*) FROM order_items GROUP BY status, id / 4096;
INSERT INTO list_counts (tbl, status, bucket, delta)
  SELECT 'orders', status, id / 4096, COUNT(*) FROM orders GROUP BY status, id / 4096;
INSERT INTO list_counts (tbl, status, bucket, delta)
  SELECT 'discount_items', 0, id / 4096, COUNT(*) FROM discount_items GROUP BY id / 4096;
