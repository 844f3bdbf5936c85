-- What the shop's own systems tell about a customer (attributes, recent orders) as JSON.
ALTER TABLE contacts ADD COLUMN shop_data TEXT;
