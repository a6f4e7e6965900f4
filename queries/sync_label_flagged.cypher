// Sync: give the Flagged label to entities named by an alert (direct evidence; the Browser style draws them biggest), and take it from those that no longer are
// Run in a loop until it changes nothing; each round one transaction.
// Parameters: $limit (nodes changed per round)
MATCH (n:Entity) WHERE (coalesce(n.risk_direct, 0) > 0) <> (n:Flagged)
WITH n LIMIT $limit
FOREACH (_ IN CASE WHEN coalesce(n.risk_direct, 0) > 0 THEN [1] ELSE [] END | SET n:Flagged)
FOREACH (_ IN CASE WHEN coalesce(n.risk_direct, 0) > 0 THEN [] ELSE [1] END | REMOVE n:Flagged)
RETURN count(n) AS changed
