// Sync: put the cases' status and decisions on the entities they concern, with the Confirmed or Dismissed label
// Parameters: $rows (list of {key, labels, case_ids, case_statuses, decisions}: key is '<entity_type>:<id>',
// labels is ['Confirmed'], ['Dismissed'] or [], decisions the action ids decided in its cases)
UNWIND $rows AS row
MATCH (n:Entity {key: row.key})
SET n.case_ids = row.case_ids, n.case_statuses = row.case_statuses, n.case_decisions = row.decisions
SET n:$(row.labels)
RETURN count(n) AS labelled
