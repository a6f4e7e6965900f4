// Sync: link each entity to the communities it belongs to
// Parameters: $rows (list of {community_id, key}), $run_id
UNWIND $rows AS row
MATCH (c:Community {id: row.community_id})
MATCH (n:Entity {key: row.key})
MERGE (n)-[r:MEMBER_OF]->(c)
SET r.run_id = $run_id
