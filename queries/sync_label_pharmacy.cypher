// Sync: give the Pharmacy label to pharmacies, and take it from those that no longer are
// Run in a loop until it changes nothing; each round one transaction.
// Parameters: $limit (nodes changed per round)
MATCH (n:Provider) WHERE (coalesce(n.kind, '') = 'pharmacy') <> (n:Pharmacy)
WITH n LIMIT $limit
FOREACH (_ IN CASE WHEN coalesce(n.kind, '') = 'pharmacy' THEN [1] ELSE [] END | SET n:Pharmacy)
FOREACH (_ IN CASE WHEN coalesce(n.kind, '') = 'pharmacy' THEN [] ELSE [1] END | REMOVE n:Pharmacy)
RETURN count(n) AS changed
