// Guide: example parameters for A provider's double-billing paths (the biller of the top double-billing alert, a hospital one first)
// No parameters; returns the saved query's: provider_id, limit
MATCH (a:Alert {pattern: 'double_billing'})-[:INVOLVES {role: 'biller'}]->(p:Provider)
RETURN p.id AS provider_id, 25 AS limit
ORDER BY EXISTS { (a)-[:INVOLVES {role: 'hospital'}]->() } DESC, a.score DESC, a.id
LIMIT 1
