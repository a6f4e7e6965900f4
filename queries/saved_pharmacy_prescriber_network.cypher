// A pharmacy's prescriber network
// Answers: the prescribers whose prescriptions the pharmacy dispenses, biggest flows first (lines,
// amount, patients), with the pharmacy-collusion alerts that name both.
// Parameters: $pharmacy_id (the pharmacy's number), $limit (prescribers, e.g. 25)
MATCH (ph:Pharmacy {id: $pharmacy_id})<-[f:FLOWS_TO]-(pr:Provider)
OPTIONAL MATCH (a:Alert {pattern: 'pharmacy_collusion'})-[:INVOLVES {role: 'prescriber'}]->(pr)
WHERE EXISTS { (a)-[:INVOLVES {role: 'pharmacy'}]->(ph) }
RETURN pr.id AS prescriber_id, f.n AS lines, f.amount AS amount, f.patients AS patients,
       collect(a.id) AS alerts, ph, f, pr
ORDER BY amount DESC, prescriber_id
LIMIT $limit
