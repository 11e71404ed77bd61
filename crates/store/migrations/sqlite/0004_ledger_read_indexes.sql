-- Indexes for the ledger's read side (Omnitron/OMS/account views): every filter served
-- has an index. discount_items(modified_at) backs `modified_date__gte/__lte` and sort;
-- voucher_customers(user_id) backs the account views' "vouchers assigned to me";
-- condition_applicants(order_item_id) serves the cascade from order items and lookups by item.
CREATE INDEX discount_items_modified ON discount_items (modified_at, id);
CREATE INDEX voucher_customers_user ON voucher_customers (user_id, voucher_id);
CREATE INDEX condition_applicants_item ON condition_applicants (order_item_id, id);
