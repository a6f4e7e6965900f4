// Sync: where the last sync got to (run, batches committed, status), to resume an interrupted one
// Parameters: $id (the state node's id, 'fraudnet')
MATCH (s:SyncState {id: $id})
RETURN s.run_id AS run_id, s.status AS status, s.batch_size AS batch_size, s.done AS done,
       s.started_at AS started_at, s.finished_at AS finished_at
