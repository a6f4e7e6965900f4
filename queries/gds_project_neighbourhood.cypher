// GDS: project an investigator's subgraph into GDS's graph catalog
// Answers: the entities within two links of one entity in the billing and ownership graph (not
// through an Alert or a Community), never through a hub, and every such relationship among them (weighted by its lines, 1 if none), as an undirected graph named
// $graph_name for gds.leiden and gds.pageRank (GDS Cypher projection, gds.graph.project).
// Parameters: $graph_name (a name for the projection, e.g. 'investigation'), $entity_id (the
// entity's number), $max_degree (a hub has more links than this, e.g. 200)
MATCH path = (start:Entity {id: $entity_id})-[:BILLED|DISPENSED_TO|PRESCRIBED_FOR|FLOWS_TO|WORKS_AT|OPERATED_BY|BILLS_UNDER|OFFICER_OF|SHARES_IDENTIFIER*0..2]-(n:Entity)
WHERE all(x IN nodes(path)[1..] WHERE coalesce(x.degree, 0) <= $max_degree)
WITH collect(DISTINCT n) AS members
UNWIND members AS s
OPTIONAL MATCH (s)-[r:BILLED|DISPENSED_TO|PRESCRIBED_FOR|FLOWS_TO|WORKS_AT|OPERATED_BY|BILLS_UNDER|OFFICER_OF|SHARES_IDENTIFIER]->(t:Entity)
WHERE t IN members
WITH gds.graph.project($graph_name, s, t, {relationshipProperties: {weight: toFloat(coalesce(r.n, 1))}},
                       {undirectedRelationshipTypes: ['*']}) AS g
RETURN g.graphName AS graph_name, g.nodeCount AS nodes, g.relationshipCount AS relationships
