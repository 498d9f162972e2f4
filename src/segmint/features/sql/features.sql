-- CONTRACT §3, per-customer features over the cleaned lines (`clean_lines`: kept lines of
-- customers with at least one order). Days are whole calendar days up to $as_of.
WITH orders AS (
    -- One row per order; returns are not orders.
    SELECT customer_id, order_key, CAST(min(ts) AS DATE) AS order_date
    FROM clean_lines
    WHERE NOT is_return
    GROUP BY customer_id, order_key
),

order_stats AS (
    SELECT
        customer_id,
        count(*) AS frequency,
        min(order_date) AS first_order,
        max(order_date) AS last_order
    FROM orders
    GROUP BY customer_id
),

line_stats AS (
    SELECT
        customer_id,
        sum(line_amount) AS monetary,
        coalesce(sum(line_amount) FILTER (WHERE NOT is_return), 0) AS gross_value,
        coalesce(-sum(line_amount) FILTER (WHERE is_return), 0) AS returned_value,
        sum(units) AS net_units,
        sum(units) FILTER (WHERE NOT is_return) AS gross_units,
        count(DISTINCT category) FILTER (WHERE NOT is_return) AS n_categories
        $share_sums
    FROM clean_lines
    GROUP BY customer_id
)

SELECT
    customer_id,
    date_diff('day', last_order, $as_of) AS recency_days,
    frequency,
    CAST(monetary AS DOUBLE) AS monetary,
    CAST(monetary AS DOUBLE) / frequency AS aov,
    CAST(net_units AS DOUBLE) AS quantity,
    CAST(gross_value AS DOUBLE) / CAST(gross_units AS DOUBLE) AS avg_unit_price,
    date_diff('day', first_order, $as_of) AS tenure_days,
    CAST(date_diff('day', first_order, last_order) AS DOUBLE) / nullif(frequency - 1, 0) AS interpurchase_days,
    CASE WHEN gross_value = 0 THEN 0.0
         ELSE CAST(returned_value AS DOUBLE) / CAST(gross_value AS DOUBLE) END AS return_rate,
    n_categories
    $share_columns
FROM order_stats
JOIN line_stats USING (customer_id)
ORDER BY customer_id
