-- Cleaning (docs/reference/cleaning.md#rules). One CTE per rule, in the rules' order; the final
-- CASE counts a row under the first rule that drops it. Placeholders (dollar-names) are filled
-- by segmint.features.clean with the detected columns and their parsing expressions.
-- `lines` carries `copies`: how many identical raw rows it stands for (duplicates are
-- collapsed before this query unless --keep-duplicates).
WITH trimmed AS (
    SELECT
        $customer_id AS customer_text,
        $timestamp AS ts,
        $order_id AS order_text,
        $quantity AS quantity,
        $unit_price AS unit_price,
        $amount AS amount,
        $category AS category_text,
        copies
    FROM $lines
),

parsed AS (
    SELECT
        -- The null markers are at most 4 characters: longer ids skip upper().
        CASE
            WHEN length(customer_text) <= 4
                 AND upper(customer_text) IN ('', 'NA', 'N/A', 'NULL', 'NAN', 'NONE', '-') THEN NULL
            ELSE customer_text
        END AS customer_id,
        ts,
        nullif(order_text, '') AS order_id,
        quantity,
        unit_price,
        amount,
        nullif(category_text, '') AS category,
        copies
    FROM trimmed
),

rule_missing_customer_id AS (
    SELECT *, customer_id IS NULL AS missing_customer_id
    FROM parsed
),

rule_bad_date AS (
    SELECT *, ts IS NULL AS bad_date
    FROM rule_missing_customer_id
),

-- rule `duplicate`: the extra copies of an exact duplicate row (copies - 1), counted
-- in segmint.features.clean from the `copies` column kept on every line.

-- `NOT (x BETWEEN -1e15 AND 1e15)` catches NaN and ±inf as well as values beyond ±1e15:
-- NaN sorts above every number in DuckDB and in Spark SQL alike (no isfinite in Spark).
rule_invalid_amount AS (
    SELECT *,
        coalesce(
            ($has_quantity AND (quantity IS NULL OR NOT (quantity BETWEEN -1e15 AND 1e15)
                                OR quantity = 0))
            OR ($has_unit_price AND (unit_price IS NULL
                                     OR NOT (unit_price BETWEEN -1e15 AND 1e15)
                                     OR unit_price <= 0))
            OR ($has_amount AND (amount IS NULL OR NOT (amount BETWEEN -1e15 AND 1e15)))
            OR (NOT $has_amount AND $has_quantity
                AND NOT (quantity * unit_price BETWEEN -1e15 AND 1e15)),
            TRUE
        ) AS invalid_amount
    FROM rule_bad_date
),

rule_after_as_of AS (
    SELECT *, coalesce(CAST(ts AS DATE) > $as_of, FALSE) AS after_as_of
    FROM rule_invalid_amount
),

classified AS (
    SELECT *,
        CASE
            WHEN missing_customer_id THEN 'missing_customer_id'
            WHEN bad_date THEN 'bad_date'
            WHEN invalid_amount THEN 'invalid_amount'
            WHEN after_as_of THEN 'after_as_of'
        END AS drop_reason
    FROM rule_after_as_of
),

-- A return: negative quantity or amount, or an order id starting with C.
returns AS (
    SELECT *,
        coalesce(quantity < 0, FALSE) OR coalesce(amount < 0, FALSE)
            OR coalesce(starts_with(order_id, 'C'), FALSE) AS is_return
    FROM classified
)

SELECT
    customer_id,
    ts,
    -- An order: the lines with one order id; without one, a customer's lines at one timestamp.
    coalesce(order_id, CAST(ts AS VARCHAR)) AS order_key,
    category,
    copies,
    drop_reason,
    is_return,
    -- Line amount: amount, else quantity × unit price, else the unit price alone.
    -- Exact decimals, so that sums do not depend on the order of addition.
    CASE WHEN drop_reason IS NULL THEN
        (CASE WHEN is_return THEN -1 ELSE 1 END) * abs(
            CASE
                WHEN $has_amount THEN CAST(CAST(amount AS DECIMAL(38, 6)) AS DECIMAL(38, 12))
                WHEN $has_quantity THEN CAST(quantity AS DECIMAL(38, 6)) * CAST(unit_price AS DECIMAL(38, 6))
                ELSE CAST(CAST(unit_price AS DECIMAL(38, 6)) AS DECIMAL(38, 12))
            END)
    END AS line_amount,
    CASE WHEN drop_reason IS NULL AND $has_quantity THEN
        (CASE WHEN is_return THEN -1 ELSE 1 END) * abs(CAST(quantity AS DECIMAL(38, 6)))
    END AS units
FROM returns
