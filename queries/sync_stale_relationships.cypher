// Sync: delete relationships written by an older run (no longer in the synced run's graph)
// Run in a loop until it deletes nothing. Parameters: $run_id (the synced run), $limit (per round)
MATCH ()-[r]->()
WHERE r.run_id IS NOT NULL AND r.run_id <> $run_id
WITH r LIMIT $limit
DELETE r
RETURN count(*) AS deleted
