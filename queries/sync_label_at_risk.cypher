// Sync: give the AtRisk label to entities at risk only through their network (drawn bigger than the rest), and take it from those that no longer are
// Run in a loop until it changes nothing; each round one transaction.
// Parameters: $limit (nodes changed per round)
MATCH (n:Entity) WHERE (coalesce(n.risk_direct, 0) = 0 AND coalesce(n.risk, 0) > 0) <> (n:AtRisk)
WITH n LIMIT $limit
FOREACH (_ IN CASE WHEN coalesce(n.risk_direct, 0) = 0 AND coalesce(n.risk, 0) > 0 THEN [1] ELSE [] END | SET n:AtRisk)
FOREACH (_ IN CASE WHEN coalesce(n.risk_direct, 0) = 0 AND coalesce(n.risk, 0) > 0 THEN [] ELSE [1] END | REMOVE n:AtRisk)
RETURN count(n) AS changed
