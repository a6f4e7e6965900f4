// GDS: drop a projected graph from GDS's graph catalog (no error if there is none)
// Parameters: $graph_name (the projection's name)
CALL gds.graph.drop($graph_name, false) YIELD graphName
RETURN graphName AS dropped
