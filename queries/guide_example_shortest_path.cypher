// Guide: example parameters for Shortest path between two entities, avoiding hubs (the biller of the top double-billing alert and the biller of the top dense-block alert)
// No parameters; returns the saved query's: from_key, to_key, max_degree
MATCH (d:Alert {pattern: 'double_billing'})-[:INVOLVES {role: 'biller'}]->(a:Provider)
WITH a ORDER BY d.score DESC, d.id LIMIT 1
MATCH (b:Alert {pattern: 'dense_block'})-[:INVOLVES {role: 'biller'}]->(p:Provider)
RETURN a.key AS from_key, p.key AS to_key, 200 AS max_degree
ORDER BY b.score DESC, b.id, p.key
LIMIT 1
