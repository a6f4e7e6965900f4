// Guide: example parameters for A pharmacy's prescriber network (the pharmacy of the top pharmacy-collusion alert)
// No parameters; returns the saved query's: pharmacy_id, limit
MATCH (a:Alert {pattern: 'pharmacy_collusion'})-[:INVOLVES {role: 'pharmacy'}]->(ph:Pharmacy)
RETURN ph.id AS pharmacy_id, 25 AS limit
ORDER BY a.score DESC, a.id
LIMIT 1
