-- RFM scores (docs/reference/rfm.md#scores): quintile cuts q20..q80 of the customer base (linear
-- interpolation, as numpy's default); frequency and monetary score 1 + #{q : x > q},
-- recency_days (lower is better) 1 + #{q : x < q}. Equal values get equal scores.
WITH cuts AS (
    SELECT
        quantile_cont(recency_days, [0.2, 0.4, 0.6, 0.8]) AS r,
        quantile_cont(frequency, [0.2, 0.4, 0.6, 0.8]) AS f,
        quantile_cont(monetary, [0.2, 0.4, 0.6, 0.8]) AS m
    FROM customer_features
),

scored AS (
    SELECT
        c.*,
        1 + CAST(c.recency_days < cuts.r[1] AS INTEGER) + CAST(c.recency_days < cuts.r[2] AS INTEGER)
          + CAST(c.recency_days < cuts.r[3] AS INTEGER) + CAST(c.recency_days < cuts.r[4] AS INTEGER) AS r_score,
        1 + CAST(c.frequency > cuts.f[1] AS INTEGER) + CAST(c.frequency > cuts.f[2] AS INTEGER)
          + CAST(c.frequency > cuts.f[3] AS INTEGER) + CAST(c.frequency > cuts.f[4] AS INTEGER) AS f_score,
        1 + CAST(c.monetary > cuts.m[1] AS INTEGER) + CAST(c.monetary > cuts.m[2] AS INTEGER)
          + CAST(c.monetary > cuts.m[3] AS INTEGER) + CAST(c.monetary > cuts.m[4] AS INTEGER) AS m_score
    FROM customer_features AS c, cuts
),

-- The map (docs/reference/rfm.md#map): FM = floor((f_score + m_score) / 2 + 0.5).
rfm_map (r_score, fm_score, rfm_segment) AS (
    VALUES $rfm_map
)

SELECT scored.*, rfm_map.rfm_segment
FROM scored
JOIN rfm_map
  ON rfm_map.r_score = scored.r_score
 AND rfm_map.fm_score = CAST(floor((scored.f_score + scored.m_score) / 2 + 0.5) AS INTEGER)
ORDER BY scored.customer_id
