// Sync: record progress, in the same transaction as the batch it follows
// Parameters: $id (the state node's id, 'fraudnet'), $props (run_id, status, batch_size, done, times)
MERGE (s:SyncState {id: $id})
SET s += $props
