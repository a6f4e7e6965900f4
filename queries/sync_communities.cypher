// Sync: upsert the run's Community nodes (stable ids across runs, size, density, flagged members, risk)
// Parameters: $rows (list of {id, props}, props includes id), $run_id
UNWIND $rows AS row
MERGE (c:Community {id: row.id})
SET c = row.props, c.run_id = $run_id
