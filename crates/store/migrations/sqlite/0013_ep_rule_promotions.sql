-- Elastic Path carts priced by offerline's promotions (contract §10): a cart's own
-- `use_rule_promotions` (NULL: the store's setting), and the promotion codes a cart holds
-- (the SDK's AddPromotion / RemovePromotion), each an EP `promotion_item` with its own id.
ALTER TABLE ep_carts ADD COLUMN use_rule_promotions BIGINT;
CREATE TABLE ep_cart_promotions (
  id TEXT PRIMARY KEY,
  cart_id TEXT NOT NULL REFERENCES ep_carts(id) ON DELETE CASCADE,
  code TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (cart_id, code)
);
