// Guide: example parameters for A legal-entity group (the legal entity of the top entity-network alert)
// No parameters; returns the saved query's: legal_entity_id, limit
MATCH (a:Alert {pattern: 'entity_network'})-[:INVOLVES {role: 'legal_entity'}]->(le:LegalEntity)
RETURN le.id AS legal_entity_id, 100 AS limit
ORDER BY a.score DESC, a.id, le.id
LIMIT 1
