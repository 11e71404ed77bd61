-- Change notifications for the in-memory read caches (see crates/store/src/changes.rs).
--
-- Every statement that inserts, updates, deletes or truncates rows of a table the cached
-- responses or the token cache read sends `NOTIFY offerline_changes` with the table's
-- schema as payload, so servers on other schemas of the same database can ignore it.
-- Statement-level, so a checkout that writes hundreds of rows notifies once per statement,
-- and PostgreSQL folds identical notifications of one transaction into one, delivered at
-- commit (never for a rolled-back transaction). Each server LISTENs and moves its data
-- generation on every notification, which invalidates what it cached before.
CREATE FUNCTION offerline_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('offerline_changes', TG_TABLE_SCHEMA);
  RETURN NULL;
END $$;

DO $$
DECLARE t TEXT;
BEGIN
  FOREACH t IN ARRAY ARRAY[
    'orders', 'order_items', 'discount_items', 'benefit_applicants', 'condition_applicants',
    'promotions', 'products', 'product_images', 'price_lists', 'product_prices', 'stock_lists',
    'users', 'api_tokens'
  ] LOOP
    EXECUTE format(
      'CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I '
      'FOR EACH STATEMENT EXECUTE FUNCTION offerline_notify_change()', t || '_notify_change', t);
    EXECUTE format(
      'CREATE TRIGGER %I AFTER TRUNCATE ON %I '
      'FOR EACH STATEMENT EXECUTE FUNCTION offerline_notify_change()', t || '_notify_truncate', t);
  END LOOP;
END $$;
