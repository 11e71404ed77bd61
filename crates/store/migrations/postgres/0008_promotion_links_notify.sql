-- Change notifications for the rest of the promotion tables (see 0007 and
-- crates/store/src/changes.rs).
--
-- 0007 covers `promotions` itself. A promotion's customer list, its vouchers and their
-- customers are written by other processes too (another `offerline serve`, psql), and every
-- server's data generation must move when they change: the offer cache checks its
-- promotions stamp on every move, and caches added later need not remember this gap.
-- Statement-level, like 0007; a checkout that counts a voucher use already notifies for
-- its order rows in the same transaction, and PostgreSQL folds the identical
-- notifications into one.
DO $$
DECLARE t TEXT;
BEGIN
  FOREACH t IN ARRAY ARRAY['promotion_customers', 'vouchers', 'voucher_customers'] LOOP
    EXECUTE format(
      'CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I '
      'FOR EACH STATEMENT EXECUTE FUNCTION offerline_notify_change()', t || '_notify_change', t);
    EXECUTE format(
      'CREATE TRIGGER %I AFTER TRUNCATE ON %I '
      'FOR EACH STATEMENT EXECUTE FUNCTION offerline_notify_change()', t || '_notify_truncate', t);
  END LOOP;
END $$;
