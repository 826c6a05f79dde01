-- The shop's schema, shared by both variants (MariaDB / MySQL, InnoDB).
-- Applied once on first start by `python -m shop.dbadmin init`.

CREATE TABLE IF NOT EXISTS categories (
    id          INT UNSIGNED NOT NULL PRIMARY KEY,
    slug        VARCHAR(64)  NOT NULL UNIQUE,
    name        VARCHAR(128) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS products (
    id          INT UNSIGNED NOT NULL PRIMARY KEY,
    category_id INT UNSIGNED NOT NULL,
    name        VARCHAR(200) NOT NULL,
    description TEXT         NOT NULL,
    price       DECIMAL(10,2) NOT NULL,
    -- UNSIGNED: the database itself refuses a negative stock, a second line of
    -- defence behind the conditional UPDATE in shop/repository.py.
    stock       INT UNSIGNED NOT NULL,
    KEY ix_products_category (category_id, id),
    CONSTRAINT fk_products_category FOREIGN KEY (category_id) REFERENCES categories (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS orders (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email           VARCHAR(254) NOT NULL,
    status          VARCHAR(16)  NOT NULL,
    total           DECIMAL(12,2) NOT NULL,
    -- A client-chosen key makes retries safe: the UNIQUE index lets exactly one
    -- transaction claim it, whatever the concurrency.
    idempotency_key VARCHAR(200) NULL,
    request_hash    CHAR(64)     NULL,
    created_at      DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    UNIQUE KEY ux_orders_idempotency_key (idempotency_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS order_items (
    order_id    BIGINT UNSIGNED NOT NULL,
    product_id  INT UNSIGNED NOT NULL,
    quantity    INT UNSIGNED NOT NULL,
    unit_price  DECIMAL(10,2) NOT NULL,
    PRIMARY KEY (order_id, product_id),
    CONSTRAINT fk_items_order FOREIGN KEY (order_id) REFERENCES orders (id),
    CONSTRAINT fk_items_product FOREIGN KEY (product_id) REFERENCES products (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Order events (docs/architecture.md, "Order events"). After an order is confirmed the shop mails
-- the customer and updates the sales figures per category: the monolith inline, in the order's
-- own transaction; the distributed variant through RabbitMQ, consumers calling the API.

-- The outbox: the distributed API writes each event here IN THE ORDER'S OWN TRANSACTION, so an
-- order and its announcement are committed together or not at all. The API's relay publishes
-- the row to RabbitMQ (with publisher confirms) and stamps published_at; a row still NULL there
-- (the broker was down, the queue was full) is published by the relay's next sweep.
CREATE TABLE IF NOT EXISTS outbox (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    order_id     BIGINT UNSIGNED NOT NULL,
    routing_key  VARCHAR(64)  NOT NULL,
    payload      MEDIUMTEXT   NOT NULL,
    created_at   DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    published_at DATETIME(3)  NULL,
    -- the relay's sweep reads "not published yet, oldest first" through this index
    KEY ix_outbox_pending (published_at, id),
    UNIQUE KEY ux_outbox_order_event (order_id, routing_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The sales figures the catalogue shows ("best sellers"), one row per category.
CREATE TABLE IF NOT EXISTS category_sales (
    category_id INT UNSIGNED  NOT NULL PRIMARY KEY,
    orders      INT UNSIGNED  NOT NULL DEFAULT 0,
    units       INT UNSIGNED  NOT NULL DEFAULT 0,
    revenue     DECIMAL(14,2) NOT NULL DEFAULT 0,
    CONSTRAINT fk_sales_category FOREIGN KEY (category_id) REFERENCES categories (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- "The sales of order N are counted": inserted in the same transaction as the figures, so a
-- redelivered event finds its order here and counts nothing twice (the PRIMARY KEY makes it so).
CREATE TABLE IF NOT EXISTS sales_counted (
    order_id   BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    counted_at DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    CONSTRAINT fk_counted_order FOREIGN KEY (order_id) REFERENCES orders (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The confirmation mail of order N: claimed by one mailer ('sending', with a lease), then 'sent'.
-- A mailer sends only under its own claim and never once the row says 'sent'.
CREATE TABLE IF NOT EXISTS order_mail (
    order_id   BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    state      VARCHAR(16)     NOT NULL,
    claimant   VARCHAR(64)     NOT NULL,
    claimed_at DATETIME(3)     NOT NULL,
    sent_at    DATETIME(3)     NULL,
    CONSTRAINT fk_mail_order FOREIGN KEY (order_id) REFERENCES orders (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
