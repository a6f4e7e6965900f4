// Sync: give the Prescriber label to providers who prescribe, and take it from those that no longer are
// Run in a loop until it changes nothing; each round one transaction.
// Parameters: $limit (nodes changed per round)
MATCH (n:Provider) WHERE (coalesce(n.roles, '') CONTAINS 'prescriber') <> (n:Prescriber)
WITH n LIMIT $limit
FOREACH (_ IN CASE WHEN coalesce(n.roles, '') CONTAINS 'prescriber' THEN [1] ELSE [] END | SET n:Prescriber)
FOREACH (_ IN CASE WHEN coalesce(n.roles, '') CONTAINS 'prescriber' THEN [] ELSE [1] END | REMOVE n:Prescriber)
RETURN count(n) AS changed
