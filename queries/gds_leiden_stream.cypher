// GDS: communities of the projected subgraph, recomputed inside Neo4j
// Answers: the Leiden communities (Traag, Waltman & van Eck, Scientific Reports 2019; GDS
// gds.leiden.stream, weighted, seeded) of the projection, biggest first, with their flagged
// members; the Browser draws the members and the links between them.
// Parameters: $graph_name (the projection's name)
CALL gds.leiden.stream($graph_name, {relationshipWeightProperty: 'weight', randomSeed: 42, concurrency: 1})
YIELD nodeId, communityId
WITH communityId, collect(gds.util.asNode(nodeId)) AS members
RETURN communityId AS community, size(members) AS size,
       [m IN members WHERE m:Flagged | m.id] AS flagged, members
ORDER BY size DESC, community
