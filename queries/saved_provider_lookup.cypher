// Look up a provider
// Answers: the provider (by its number), its risk score and reasons, and every alert naming it
// with its role; double-click the provider in the Browser to expand its network.
// Parameters: $provider_id (the provider's number)
MATCH (p:Provider {id: $provider_id})
OPTIONAL MATCH (a:Alert)-[i:INVOLVES]->(p)
RETURN p.id AS provider_id, p.risk AS risk, p.reasons AS reasons, a.id AS alert_id, i.role AS role, p, i, a
ORDER BY alert_id
