// A case's entities
// Answers: the entities a case is about (its providers, centres, legal entities and people, and
// the patient of a doctor-shopping case; not the patients a provider billed), with their
// Confirmed or Dismissed label, the statuses and decisions of their cases, and every alert naming
// them with their role and standing; the Browser draws the case's network around its alerts.
// Parameters: $case_id (a case of the store at the last sync, e.g. C-00001 from fraudnet cases list)
MATCH (n:Entity)
WHERE $case_id IN n.case_ids
OPTIONAL MATCH (a:Alert)-[i:INVOLVES]->(n)
RETURN n.key AS key, [l IN labels(n) WHERE l IN ['Confirmed', 'Dismissed']] AS case_labels,
       n.case_ids AS case_ids, n.case_statuses AS case_statuses, n.case_decisions AS case_decisions,
       a.id AS alert_id, i.role AS role, i.standing AS standing, n, a, i
ORDER BY key, alert_id
