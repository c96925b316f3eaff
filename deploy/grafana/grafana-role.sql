-- The read-only login Grafana's data source uses: SELECT on the sweep tables, nothing on stored models (Artifact) or
-- uploaded models. Run once as the database owner, then set its password:
--   psql "$DATABASE_URL" -f deploy/grafana/grafana-role.sql
--   psql "$DATABASE_URL" -c "ALTER ROLE lopper_grafana PASSWORD '…'"
-- Run it again after a migration adds a table the dashboards read.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lopper_grafana') THEN
    CREATE ROLE lopper_grafana LOGIN;
  END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO lopper_grafana;
GRANT SELECT ON "Sweep", "Trial", "Baseline", "SweepBaseline" TO lopper_grafana;
