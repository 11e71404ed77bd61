-- Order life (contract §8): cancellations and returns with their refunds, appended next to
-- the shares placed at checkout, which never change.
--
-- cancellations: one request or staff action over units of one order; status waiting /
-- approved / rejected; refund_amount is the sum of its items' (an estimate while waiting).
-- cancellation_items: one per unit; `previous_status` is what a rejection puts back;
-- `active` is 1 while the cancellation is waiting or approved and NULL once rejected, so
-- the unique index lets a unit be in at most one live cancellation (NULLs never collide).
-- cancellation_reversals: per approved cancellation item, the discount shares it reversed:
-- `target_item_id` is the unit whose share is reversed (the cancelled unit itself, or a
-- kept unit whose discount a `reprice` promotion claws back).
-- offer_usage gains the discount given back (`discount_spent` is what stays given).
-- discount_items gain the sum of their reversals (`cancel_amount`), the applications they
-- consumed, and the refund policy (with, under `reprice`, the promotion as it was) of the
-- promotion when the order was placed, so later edits do not move old refunds.
ALTER TABLE promotions ADD COLUMN refund_policy TEXT NOT NULL DEFAULT 'keep_shares';
ALTER TABLE discount_items ADD COLUMN cancel_amount BIGINT NOT NULL DEFAULT 0;
ALTER TABLE offer_usage ADD COLUMN discount_reversed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE discount_items ADD COLUMN applications BIGINT NOT NULL DEFAULT 0;
ALTER TABLE discount_items ADD COLUMN refund_policy TEXT NOT NULL DEFAULT 'keep_shares';
ALTER TABLE discount_items ADD COLUMN offer_snapshot TEXT;

CREATE TABLE cancellations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  order_id BIGINT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
  user_id BIGINT,
  cancellation_type TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  refund_amount BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  modified_at BIGINT NOT NULL
);
CREATE INDEX cancellations_order ON cancellations (order_id, id);
CREATE INDEX cancellations_status ON cancellations (status, id);
CREATE INDEX cancellations_created ON cancellations (created_at, id);

CREATE TABLE cancellation_items (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  cancellation_id BIGINT NOT NULL REFERENCES cancellations(id) ON DELETE CASCADE,
  order_item_id BIGINT NOT NULL REFERENCES order_items(id) ON DELETE CASCADE,
  previous_status BIGINT NOT NULL,
  refund_amount BIGINT NOT NULL DEFAULT 0,
  active BIGINT,
  created_at BIGINT NOT NULL
);
CREATE INDEX cancellation_items_cancellation ON cancellation_items (cancellation_id, id);
CREATE UNIQUE INDEX cancellation_items_live ON cancellation_items (order_item_id, active);

CREATE TABLE cancellation_reversals (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  cancellation_item_id BIGINT NOT NULL REFERENCES cancellation_items(id) ON DELETE CASCADE,
  discount_item_id BIGINT NOT NULL REFERENCES discount_items(id) ON DELETE CASCADE,
  target_item_id BIGINT NOT NULL REFERENCES order_items(id) ON DELETE CASCADE,
  amount BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX cancellation_reversals_item ON cancellation_reversals (cancellation_item_id, id);
CREATE INDEX cancellation_reversals_discount ON cancellation_reversals (discount_item_id, id);
