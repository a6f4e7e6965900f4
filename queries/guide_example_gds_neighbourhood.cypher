// Guide: example parameters for the GDS slide (the neighbourhood of the top dense-block alert's first provider)
// No parameters; returns the GDS statements': graph_name, entity_id, max_degree, limit
MATCH (a:Alert {pattern: 'dense_block'})-[:INVOLVES {role: 'biller'}]->(p:Provider)
RETURN 'investigation' AS graph_name, p.id AS entity_id, 200 AS max_degree, 25 AS limit
ORDER BY a.score DESC, a.id, p.id
LIMIT 1
