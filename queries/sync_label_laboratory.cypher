// Sync: give the Laboratory label to laboratories, and take it from those that no longer are
// Run in a loop until it changes nothing; each round one transaction.
// Parameters: $limit (nodes changed per round)
MATCH (n:Provider) WHERE (coalesce(n.kind, '') = 'laboratory') <> (n:Laboratory)
WITH n LIMIT $limit
FOREACH (_ IN CASE WHEN coalesce(n.kind, '') = 'laboratory' THEN [1] ELSE [] END | SET n:Laboratory)
FOREACH (_ IN CASE WHEN coalesce(n.kind, '') = 'laboratory' THEN [] ELSE [1] END | REMOVE n:Laboratory)
RETURN count(n) AS changed
