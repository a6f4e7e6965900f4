// GDS: PageRank of the projected subgraph, recomputed inside Neo4j
// Answers: the most central entities of the projection (PageRank, Page et al. 1999; GDS
// gds.pageRank.stream, weighted, damping 0.85), with their fraudnet risk for comparison.
// Parameters: $graph_name (the projection's name), $limit (entities, e.g. 25)
CALL gds.pageRank.stream($graph_name, {relationshipWeightProperty: 'weight', concurrency: 1})
YIELD nodeId, score
WITH gds.util.asNode(nodeId) AS n, score
RETURN n.id AS entity_id, n.caption AS caption, round(score, 4) AS pagerank, n.risk AS risk, n
ORDER BY score DESC, entity_id
LIMIT $limit
