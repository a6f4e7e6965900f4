// A legal-entity group: its centres, officers, successors and linked entities
// Answers: everything within two links of the legal entity through ownership and shared details
// (centres it operates, officers and the other entities they run, entities sharing an address,
// phone or bank account, providers billing under it), nearest first, with the roles that
// entity-network alerts give them (dissolved, successor, shared_officer, ...).
// Parameters: $legal_entity_id (SIREN, FINESS EJ, KBO/BCE...), $limit (entities, e.g. 100)
MATCH (le:LegalEntity {id: $legal_entity_id})
MATCH path = (le)-[:OPERATED_BY|OFFICER_OF|SHARES_IDENTIFIER|BILLS_UNDER*1..2]-(x)
WHERE x <> le
WITH x, min(length(path)) AS links, collect(path) AS paths
OPTIONAL MATCH (a:Alert {pattern: 'entity_network'})-[r:INVOLVES]->(x)
RETURN x.id AS entity_id, x.caption AS caption, links, collect(DISTINCT r.role) AS alert_roles,
       collect(DISTINCT a.id) AS alerts, paths
ORDER BY links, entity_id
LIMIT $limit
