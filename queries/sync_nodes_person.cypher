// Sync: upsert Person nodes (with their risk, reasons, communities and centrality as properties) and their derived labels
// Parameters: $rows (list of {key, labels, props}: key is 'person:<id>', labels the derived labels the node
// carries now, props every property, key included), $derived (every derived label: Prescriber, Pharmacy,
// Laboratory, Flagged, AtRisk, Accused, Participant, Victim; those not in row.labels are removed), $run_id
UNWIND $rows AS row
MERGE (n:Entity {key: row.key})
SET n:Person, n = row.props, n.run_id = $run_id
REMOVE n:$([label IN $derived WHERE NOT label IN row.labels])
SET n:$(row.labels)
