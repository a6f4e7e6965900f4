// Guide: example parameters for A case's entities (the first case, by id, on the synced entities)
// No parameters; returns the saved query's: case_id
MATCH (n:Entity)
WHERE n.case_ids IS NOT NULL
UNWIND n.case_ids AS case_id
RETURN case_id
ORDER BY case_id
LIMIT 1
