-- The references of the ledger's write-once rows checked once per statement, not per row.
--
-- An order of 20 units with three discounts writes about 75 rows below it (items, discount
-- items, benefit and condition applicants), and their foreign keys made PostgreSQL run 148
-- checks per order, each a lookup and a `FOR KEY SHARE` lock on the parent row, the lock
-- written to the WAL. Measured on the checkout bench (8 clients): two thirds of the
-- checkout writer's statement, which takes 2.45 ms per batch with the checks below instead
-- of 4.26 ms (docs/PERFORMANCE.md).
--
-- The checks stay; each statement makes them once for all its rows, with PostgreSQL's own
-- rules, so what is refused is what the foreign keys refused:
--
-- * inserting a ledger row whose parent is not there fails with `foreign_key_violation`.
--   Each distinct parent is locked `FOR KEY SHARE` until the commit, as a foreign key does,
--   so a concurrent delete of it waits and then sees the new row (and is refused), or
--   commits first and the insert is refused;
-- * deleting a product, price list, stock list or promotion that a ledger row names fails
--   the same way (the foreign keys' NO ACTION);
-- * deleting an order deletes its items and discount items, and deleting those deletes
--   their applicants (the foreign keys' ON DELETE CASCADE; the cancellation tables keep
--   their own foreign keys and cascade from the items as before).
--
-- Not covered, because nothing does them: a change of a ledger row's reference columns or
-- of a parent's id (a column-specific UPDATE trigger cannot see the changed rows as a set),
-- and TRUNCATE. SQLite keeps the foreign keys: there a check is an index probe in-process,
-- with no lock to write.

ALTER TABLE order_items
  DROP CONSTRAINT order_items_order_id_fkey,
  DROP CONSTRAINT order_items_product_id_fkey,
  DROP CONSTRAINT order_items_price_list_id_fkey,
  DROP CONSTRAINT order_items_stock_list_id_fkey;
ALTER TABLE discount_items
  DROP CONSTRAINT discount_items_order_id_fkey,
  DROP CONSTRAINT discount_items_promotion_id_fkey;
ALTER TABLE benefit_applicants
  DROP CONSTRAINT benefit_applicants_discount_item_id_fkey,
  DROP CONSTRAINT benefit_applicants_order_item_id_fkey;
ALTER TABLE condition_applicants
  DROP CONSTRAINT condition_applicants_discount_item_id_fkey,
  DROP CONSTRAINT condition_applicants_order_item_id_fkey;

CREATE FUNCTION ledger_reference_missing(child TEXT, parent TEXT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'insert on table "%" violates the foreign key reference to "%": a row it names is not there', child, parent
    USING ERRCODE = 'foreign_key_violation';
END $$;

-- Each check: the distinct parents the new rows name, locked through the parent's primary key
-- (an array, not a join: a transition table has no statistics, and a join planned without
-- them scanned the whole parent table); fewer locked than named means one is missing.
-- Written out per table (no dynamic SQL) so that PL/pgSQL plans each once, and planned with
-- sequential scans off: a plan cached while a ledger table was still small would otherwise
-- keep scanning it whole as it grows.
CREATE FUNCTION order_items_references() RETURNS trigger LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
  ids BIGINT[];
BEGIN
  ids := ARRAY(SELECT DISTINCT order_id FROM new_rows WHERE order_id IS NOT NULL);
  IF (SELECT count(*) FROM (SELECT 1 FROM orders WHERE id = ANY(ids) FOR KEY SHARE) l) <> cardinality(ids) THEN
    PERFORM ledger_reference_missing(TG_TABLE_NAME, 'orders');
  END IF;
  ids := ARRAY(SELECT DISTINCT product_id FROM new_rows WHERE product_id IS NOT NULL);
  IF (SELECT count(*) FROM (SELECT 1 FROM products WHERE id = ANY(ids) FOR KEY SHARE) l) <> cardinality(ids) THEN
    PERFORM ledger_reference_missing(TG_TABLE_NAME, 'products');
  END IF;
  ids := ARRAY(SELECT DISTINCT price_list_id FROM new_rows WHERE price_list_id IS NOT NULL);
  IF (SELECT count(*) FROM (SELECT 1 FROM price_lists WHERE id = ANY(ids) FOR KEY SHARE) l) <> cardinality(ids) THEN
    PERFORM ledger_reference_missing(TG_TABLE_NAME, 'price_lists');
  END IF;
  ids := ARRAY(SELECT DISTINCT stock_list_id FROM new_rows WHERE stock_list_id IS NOT NULL);
  IF (SELECT count(*) FROM (SELECT 1 FROM stock_lists WHERE id = ANY(ids) FOR KEY SHARE) l) <> cardinality(ids) THEN
    PERFORM ledger_reference_missing(TG_TABLE_NAME, 'stock_lists');
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION discount_items_references() RETURNS trigger LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
  ids BIGINT[];
BEGIN
  ids := ARRAY(SELECT DISTINCT order_id FROM new_rows WHERE order_id IS NOT NULL);
  IF (SELECT count(*) FROM (SELECT 1 FROM orders WHERE id = ANY(ids) FOR KEY SHARE) l) <> cardinality(ids) THEN
    PERFORM ledger_reference_missing(TG_TABLE_NAME, 'orders');
  END IF;
  ids := ARRAY(SELECT DISTINCT promotion_id FROM new_rows WHERE promotion_id IS NOT NULL);
  IF (SELECT count(*) FROM (SELECT 1 FROM promotions WHERE id = ANY(ids) FOR KEY SHARE) l) <> cardinality(ids) THEN
    PERFORM ledger_reference_missing(TG_TABLE_NAME, 'promotions');
  END IF;
  RETURN NULL;
END $$;

-- Both kinds of applicant name a discount item and an order item.
CREATE FUNCTION applicants_references() RETURNS trigger LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
  ids BIGINT[];
BEGIN
  ids := ARRAY(SELECT DISTINCT discount_item_id FROM new_rows WHERE discount_item_id IS NOT NULL);
  IF (SELECT count(*) FROM (SELECT 1 FROM discount_items WHERE id = ANY(ids) FOR KEY SHARE) l) <> cardinality(ids) THEN
    PERFORM ledger_reference_missing(TG_TABLE_NAME, 'discount_items');
  END IF;
  ids := ARRAY(SELECT DISTINCT order_item_id FROM new_rows WHERE order_item_id IS NOT NULL);
  IF (SELECT count(*) FROM (SELECT 1 FROM order_items WHERE id = ANY(ids) FOR KEY SHARE) l) <> cardinality(ids) THEN
    PERFORM ledger_reference_missing(TG_TABLE_NAME, 'order_items');
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER order_items_references AFTER INSERT ON order_items
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION order_items_references();
CREATE TRIGGER discount_items_references AFTER INSERT ON discount_items
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION discount_items_references();
CREATE TRIGGER benefit_applicants_references AFTER INSERT ON benefit_applicants
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION applicants_references();
CREATE TRIGGER condition_applicants_references AFTER INSERT ON condition_applicants
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION applicants_references();

-- A parent deleted: its arguments are pairs (child table, child column). Deletes are rare
-- (the application never deletes these rows), so the statement is built at run time.
CREATE FUNCTION ledger_parent_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  i INT := 0;
  named BOOLEAN;
BEGIN
  WHILE i < TG_NARGS LOOP
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I c WHERE c.%I = ANY(ARRAY(SELECT id FROM old_rows)))', TG_ARGV[i], TG_ARGV[i + 1])
      INTO named;
    IF named THEN
      RAISE EXCEPTION 'update or delete on table "%" violates the foreign key reference from "%"', TG_TABLE_NAME, TG_ARGV[i]
        USING ERRCODE = 'foreign_key_violation';
    END IF;
    i := i + 2;
  END LOOP;
  RETURN NULL;
END $$;

CREATE TRIGGER products_ledger_references AFTER DELETE ON products
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
  EXECUTE FUNCTION ledger_parent_deleted('order_items', 'product_id');
CREATE TRIGGER price_lists_ledger_references AFTER DELETE ON price_lists
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
  EXECUTE FUNCTION ledger_parent_deleted('order_items', 'price_list_id');
CREATE TRIGGER stock_lists_ledger_references AFTER DELETE ON stock_lists
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
  EXECUTE FUNCTION ledger_parent_deleted('order_items', 'stock_list_id');
CREATE TRIGGER promotions_ledger_references AFTER DELETE ON promotions
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
  EXECUTE FUNCTION ledger_parent_deleted('discount_items', 'promotion_id');

-- The cascades: arguments are pairs (child table, child column), each child's rows naming a
-- deleted row deleted in turn (which fires the child's own cascade).
CREATE FUNCTION ledger_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  i INT := 0;
BEGIN
  WHILE i < TG_NARGS LOOP
    EXECUTE format('DELETE FROM %I c WHERE c.%I = ANY(ARRAY(SELECT id FROM old_rows))', TG_ARGV[i], TG_ARGV[i + 1]);
    i := i + 2;
  END LOOP;
  RETURN NULL;
END $$;

CREATE TRIGGER orders_ledger_cascade AFTER DELETE ON orders
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
  EXECUTE FUNCTION ledger_cascade('discount_items', 'order_id', 'order_items', 'order_id');
CREATE TRIGGER discount_items_ledger_cascade AFTER DELETE ON discount_items
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
  EXECUTE FUNCTION ledger_cascade('benefit_applicants', 'discount_item_id', 'condition_applicants', 'discount_item_id');
CREATE TRIGGER order_items_ledger_cascade AFTER DELETE ON order_items
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
  EXECUTE FUNCTION ledger_cascade('benefit_applicants', 'order_item_id', 'condition_applicants', 'order_item_id');
