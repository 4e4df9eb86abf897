-- PostgreSQL only (applied by the deploy's migration step, not by the app): row level security
-- and the award function that the member app calls as `authenticated`.

ALTER TABLE loyalty_points ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS loyalty_read ON loyalty_points;
CREATE POLICY loyalty_read ON loyalty_points FOR SELECT TO authenticated USING (true);

CREATE OR REPLACE FUNCTION award_points(p_customer text, p_program text, p_points integer)
RETURNS void
LANGUAGE sql
SECURITY DEFINER
AS $$
    INSERT INTO loyalty_points (customer_id, program, points) VALUES (p_customer, p_program, p_points)
    ON CONFLICT (customer_id, program) DO UPDATE SET points = loyalty_points.points + excluded.points;
$$;

GRANT EXECUTE ON FUNCTION award_points(text, text, integer) TO authenticated;
