// A provider's double-billing paths
// Answers: for each double-billing alert on the provider, every patient billed twice and the path
// that shows it: provider -WORKS_AT-> hospital -BILLED-> patient <-BILLED- provider (a hospital
// practitioner billing privately what the hospital billed), or provider -BILLED-> patient (the
// same line billed again; the relationship counts the lines).
// Parameters: $provider_id (the provider's number), $limit (paths, e.g. 25)
CALL {
  MATCH (a:Alert {pattern: 'double_billing'})-[:INVOLVES {role: 'biller'}]->(p:Provider {id: $provider_id})
  MATCH (a)-[:INVOLVES {role: 'hospital'}]->(c:Centre)
  MATCH (a)-[:INVOLVES {role: 'billed_twice'}]->(pt:Patient)
  MATCH path = (p)-[:WORKS_AT]->(c)-[:BILLED]->(pt)<-[:BILLED]-(p)
  RETURN a.id AS alert_id, pt.id AS patient_id, c.id AS hospital_id, path
  UNION
  MATCH (a:Alert {pattern: 'double_billing'})-[:INVOLVES {role: 'biller'}]->(p:Provider {id: $provider_id})
  WHERE NOT EXISTS { (a)-[:INVOLVES {role: 'hospital'}]->() }
  MATCH (a)-[:INVOLVES {role: 'billed_twice'}]->(pt:Patient)
  MATCH path = (p)-[:BILLED]->(pt)
  RETURN a.id AS alert_id, pt.id AS patient_id, null AS hospital_id, path
}
RETURN alert_id, patient_id, hospital_id, path
ORDER BY alert_id, patient_id
LIMIT $limit
