-- Revenue per day and currency, the query behind a dashboard tile
-- (Metabase, Grafana, Superset...) on the payments table the
-- payments-to-postgres route fills. Days are UTC.
--   psql "$ANALYTICS_DSN" -f examples/stripe-to-postgres/dashboard.sql
SELECT (paid_at AT TIME ZONE 'UTC')::date AS day,
       currency,
       count(*) AS payments,
       round(sum(amount_cents) / 100.0, 2) AS revenue,
       count(DISTINCT customer) AS customers
FROM payments
GROUP BY day, currency
ORDER BY day, currency;
