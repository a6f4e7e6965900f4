// Guide: example parameters for A community and its flagged members (the riskiest community)
// No parameters; returns the saved query's: community_id, limit
MATCH (c:Community)
RETURN c.id AS community_id, 50 AS limit
ORDER BY coalesce(c.risk, 0) DESC, c.id
LIMIT 1
