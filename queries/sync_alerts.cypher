// Sync: upsert the run's Alert nodes (pattern, score, summary, evidence as JSON text)
// Parameters: $rows (list of {id, props}, props includes id), $run_id
UNWIND $rows AS row
MERGE (a:Alert {id: row.id})
SET a = row.props, a.run_id = $run_id
