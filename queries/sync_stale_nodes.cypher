// Sync: delete entities, alerts and communities written by an older run, with their relationships
// Run in a loop until it deletes nothing. Parameters: $run_id (the synced run), $limit (per round)
MATCH (n)
WHERE n.run_id IS NOT NULL AND n.run_id <> $run_id AND NOT n:SyncState
WITH n LIMIT $limit
DETACH DELETE n
RETURN count(*) AS deleted
