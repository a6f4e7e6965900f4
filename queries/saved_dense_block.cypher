// A dense block: providers billing the same patients
// Answers: for a dense-block alert, its providers and patients and the billing between them
// (BILLED: lines, amount, dates), so the Browser draws the block; a borrowed or phantom patient
// list shows as almost every provider billing almost every patient.
// Parameters: $alert_id (a dense_block alert, e.g. from Top alerts of a pattern), $limit (billing links, e.g. 300)
MATCH (a:Alert {id: $alert_id, pattern: 'dense_block'})-[:INVOLVES {role: 'biller'}]->(p:Provider)
MATCH (a)-[:INVOLVES {role: 'patient'}]->(pt:Patient)
MATCH (p)-[b:BILLED]->(pt)
RETURN p.id AS provider_id, pt.id AS patient_id, b.n AS lines, b.amount AS amount, p, b, pt
ORDER BY provider_id, patient_id
LIMIT $limit
