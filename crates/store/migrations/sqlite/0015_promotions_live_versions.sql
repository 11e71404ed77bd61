-- What an offer cache rebuild reads first (store::promotions::pricing::live_offer_changes):
-- the id and modified_at of every live promotion, to find the rows that changed. From the
-- table that read is a scan of every row's definition (a range of hundreds of skus each);
-- from this index it reads two integers per promotion.
CREATE INDEX promotions_live_versions ON promotions (deleted, id, modified_at);
