// Guide: example parameters for A provider among its peers (the provider of the top peer-outlier alert)
// No parameters; returns the saved query's: provider_id, limit
MATCH (a:Alert {pattern: 'peer_outlier'})-[:INVOLVES]->(p:Provider)
RETURN p.id AS provider_id, 50 AS limit
ORDER BY a.score DESC, a.id
LIMIT 1
