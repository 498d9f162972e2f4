-- Per-customer features (docs/reference/features.md). Reads an order table (the kept lines of
-- customers with at least one order, summed per customer, order key and kind: order or
-- return): today's `clean_orders`, or those up to an earlier date for the refresh test; and a
-- table of gross spend per customer and category. Days are whole calendar days up to the
-- as-of date.
WITH order_stats AS (
    SELECT
        customer_id,
        -- An order: the non-return lines of one order key; its day is that of its first line.
        count(*) FILTER (WHERE NOT is_return) AS frequency,
        CAST(min(first_ts) FILTER (WHERE NOT is_return) AS DATE) AS first_order,
        max(CAST(first_ts AS DATE)) FILTER (WHERE NOT is_return) AS last_order,
        sum(amount) AS monetary,
        coalesce(sum(amount) FILTER (WHERE NOT is_return), 0) AS gross_value,
        coalesce(-sum(amount) FILTER (WHERE is_return), 0) AS returned_value,
        sum(units) AS net_units,
        sum(units) FILTER (WHERE NOT is_return) AS gross_units,
        -- The net value of every order but the first (the earliest; equal timestamps by order
        -- key), whose mean the Gamma-Gamma model takes (docs/clv.md#inputs-per-customer).
        -- Not an output.
        sum(amount) - arg_min(amount, (first_ts, order_key)) FILTER (WHERE NOT is_return) AS repeat_value
    FROM $orders
    GROUP BY customer_id
),

category_mix AS (
    SELECT
        customer_id,
        count(*) AS n_categories
        $share_sums
    FROM $category_spend
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
    coalesce(n_categories, 0) AS n_categories,
    CAST(repeat_value AS DOUBLE) AS repeat_value
    $share_columns
FROM order_stats
LEFT JOIN category_mix USING (customer_id)
ORDER BY customer_id
