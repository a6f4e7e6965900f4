// Sync: take the case labels and properties off every entity, before they are set again from the case store
// Parameters: none
MATCH (n:Entity)
WHERE n:Confirmed OR n:Dismissed OR n.case_ids IS NOT NULL
REMOVE n:Confirmed:Dismissed, n.case_ids, n.case_statuses, n.case_decisions
RETURN count(n) AS cleared
